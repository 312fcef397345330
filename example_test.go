package respool_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/respool/respool"
)

// The README's usage section, kept compiling.
func Example() {
	ctx := context.Background()
	opt, err := respool.ParseURL("redis://127.0.0.1:6379/0?pool_size=20")
	if err != nil {
		panic(err)
	}
	c := respool.NewClient(opt) // owns its pool; Close closes it
	defer c.Close()

	if err := c.Set(ctx, "greeting", "hello", time.Minute).Err(); err != nil {
		fmt.Println("outcome:", respool.OutcomeOf(err)) // not sent, rejected or unknown
		return
	}
	s, err := c.Get(ctx, "greeting").Result()
	switch {
	case errors.Is(err, respool.Nil):
		fmt.Println("no such key")
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Println(s)
	}

	// Any command, typed or not.
	v, err := c.Do(ctx, "OBJECT", "ENCODING", "greeting")
	fmt.Println(v.Text(), err)
}

func ExampleClient_Pipelined() {
	ctx := context.Background()
	c := respool.NewClient(&respool.Options{Addr: "127.0.0.1:6379"})
	defer c.Close()
	var incr *respool.Cmd[int64]
	_, err := c.Pipelined(ctx, func(p *respool.Pipeline) error {
		p.Set(ctx, "a", 1, 0)
		incr = p.Incr(ctx, "a")
		return nil
	})
	fmt.Println(incr.Val(), err)
}

func ExampleClient_Watch() {
	ctx := context.Background()
	c := respool.NewClient(nil)
	defer c.Close()
	// Move 10 from one balance to another, atomically, retrying when a
	// concurrent writer changes either key.
	err := c.Watch(ctx, func(tx *respool.Tx) error {
		s, err := tx.Get(ctx, "balance:a").Result()
		if err != nil {
			return err
		}
		from, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		if from < 10 {
			return errors.New("insufficient funds")
		}
		_, err = tx.TxPipelined(ctx, func(p *respool.Pipeline) error {
			p.DecrBy(ctx, "balance:a", 10)
			p.IncrBy(ctx, "balance:b", 10)
			return nil
		})
		return err
	}, "balance:a", "balance:b")
	fmt.Println(err)
}

func ExampleClient_Subscribe() {
	ctx := context.Background()
	c := respool.NewClient(nil)
	defer c.Close()
	ps := c.Subscribe(ctx, "news")
	defer ps.Close()
	for m := range ps.Channel() {
		fmt.Println(m.Channel, m.Payload)
	}
}

func ExampleClient_ScanAll() {
	ctx := context.Background()
	c := respool.NewClient(nil)
	defer c.Close()
	for key, err := range c.ScanAll(ctx, respool.ScanArgs{Match: "user:*", Count: 100}) {
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(key)
	}
}

func ExampleNewScript() {
	ctx := context.Background()
	c := respool.NewClient(nil)
	defer c.Close()
	incrTo := respool.NewScript(`
		local n = redis.call('INCR', KEYS[1])
		if n > tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) return tonumber(ARGV[1]) end
		return n`)
	v, err := incrTo.Run(ctx, c, []string{"counter"}, 100).Result()
	fmt.Println(v, err)
}

func ExampleConnect() {
	// A bounded wait at start-up: a wrong address or password, or a
	// server that cannot carry the cache, fails here, not at the first
	// command.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := respool.Connect(ctx, &respool.Options{
		Addr:        "127.0.0.1:6379",
		Password:    "secret",
		ClientCache: &respool.CacheOptions{},
	})
	var ae *respool.AuthError
	switch {
	case errors.As(err, &ae):
		fmt.Println("wrong credentials:", ae.Err)
		return
	case errors.Is(err, respool.ErrCacheNeedsRESP3):
		fmt.Println("no client-side caching here:", err)
		return
	case err != nil:
		fmt.Println(err)
		return
	}
	defer c.Close() // Connect closed it itself on failure
	s, err := c.Cached(time.Minute).Get(context.Background(), "greeting").Result()
	fmt.Println(s, err)
}

func ExampleNewClientFromPool() {
	p := respool.NewPool(&respool.Options{Addr: "127.0.0.1:6379", PoolSize: 32})
	defer p.Close() // after the clients: they do not close a pool they share
	a, b := respool.NewClientFromPool(p), respool.NewClientFromPool(p)
	defer a.Close()
	defer b.Close()
}

func ExampleNewClusterClient() {
	ctx := context.Background()
	cc := respool.NewClusterClient(&respool.ClusterOptions{Addrs: []string{"127.0.0.1:7000"}})
	defer cc.Close()
	err := cc.Set(ctx, "{user:1}:name", "ada", 0).Err()
	fmt.Println(err)
}

func ExampleNewFailoverClient() {
	ctx := context.Background()
	fc := respool.NewFailoverClient(&respool.FailoverOptions{
		MasterName:    "mymaster",
		SentinelAddrs: []string{"10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"},
	})
	defer fc.Close()
	err := fc.Set(ctx, "k", "v", 0).Err()
	var se *respool.SentinelError
	if errors.As(err, &se) {
		fmt.Println("no sentinel gave the primary:", se.Err)
	}
}

func ExampleNewUniversalClient() {
	ctx := context.Background()
	// A FailoverClient, as MasterName is set; Addrs are the sentinels.
	c := respool.NewUniversalClient(&respool.UniversalOptions{
		MasterName: "mymaster",
		Addrs:      []string{"10.0.0.1:26379", "10.0.0.2:26379"},
	})
	defer c.Close()
	fmt.Println(c.Incr(ctx, "visits").Err())
}
