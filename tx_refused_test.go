package respool

import (
	"context"
	"errors"
	"testing"

	"github.com/respool/respool/resp"
)

// A transaction with a command whose arguments cannot be written is not
// sent at all: the writer refuses that command alone, and sending the
// rest would commit them without it (and hand each command the reply of
// the next). Every command gets the refusal, nothing reaches the server.
func TestTxWithBadArgumentIsNotSent(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, c *Client, run func(fn func(p *Pipeline) error) error) {
		ctx := context.Background()
		a, b := testKey(t, "a"), testKey(t, "b")
		var set *Cmd[string]
		var bad *Cmd[resp.Value]
		var incr *Cmd[int64]
		err := run(func(p *Pipeline) error {
			set = p.Set(ctx, a, "1", 0)
			bad = p.Do(ctx, "SET", testKey(t, "bad"), struct{}{})
			incr = p.Incr(ctx, b)
			return nil
		})
		var ae *resp.ArgError
		if !errors.As(err, &ae) || OutcomeOf(err) != OutcomeNotSent {
			t.Fatalf("transaction error %v (outcome %v), want the argument error, not sent", err, OutcomeOf(err))
		}
		for _, cmd := range []Cmder{set, bad, incr} {
			if !errors.As(cmd.Err(), &ae) || OutcomeOf(cmd.Err()) != OutcomeNotSent {
				t.Errorf("%s: %v, want the transaction's refusal", cmd.Name(), cmd.Err())
			}
		}
		if n, err := c.Exists(ctx, a, b).Result(); err != nil || n != 0 {
			t.Fatalf("EXISTS after the refused transaction: %d, %v; want nothing written", n, err)
		}
		if _, err := c.Ping(ctx).Result(); err != nil {
			t.Fatalf("the client after the refusal: %v", err)
		}
	}
	inBothModes(t, nil, func(t *testing.T, c *Client) {
		t.Run("TxPipelined", func(t *testing.T) {
			check(t, c, func(fn func(p *Pipeline) error) error {
				_, err := c.TxPipelined(context.Background(), fn)
				return err
			})
		})
		t.Run("Watch", func(t *testing.T) {
			check(t, c, func(fn func(p *Pipeline) error) error {
				return c.Watch(context.Background(), func(tx *Tx) error {
					_, err := tx.TxPipelined(context.Background(), fn)
					return err
				}, testKey(t, "watched"))
			})
		})
	})
}
