package respool

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// ClusterClient is a client for a Redis Cluster. It keeps the cluster's
// slot map and one Client per node (each with its own Pool and, unless
// Options.Exclusive, its own shared connections), created when the node
// is first needed and closed when the node has left the cluster or the
// ClusterClient is closed. It is safe for concurrent use.
//
// It has the typed commands of Client. Each command goes to the node that
// serves the hash slot of its keys (their hash tags, "{user1}:cart", make
// keys share a slot); read-only commands may go to replicas (see
// ClusterOptions.ReadOnly). Keyless commands go to a random primary,
// except those the server's command table marks as meaning every node
// or every primary, which are sent to all of them in parallel and whose
// replies are merged as the table says: FLUSHALL, FLUSHDB, DBSIZE (sum),
// KEYS (concatenated), SCRIPT LOAD and SCRIPT FLUSH (all nodes), SCRIPT
// EXISTS (and), FUNCTION LOAD/DELETE/FLUSH/RESTORE, CONFIG SET, PING,
// WAIT (minimum), SLOWLOG... The commands whose per-node replies cannot be
// merged (INFO, MEMORY STATS, FUNCTION STATS, LATENCY ...) and SCAN go to
// one random primary: use ForEachPrimary or ForEachNode to see each node,
// and ScanAll to scan the whole cluster.
//
// A command whose keys hash to different slots fails with a
// *CrossSlotError before anything is sent (MGET, MSET, DEL, EXISTS,
// UNLINK and TOUCH may instead be split by slot: ClusterOptions.
// SplitMultiKey).
//
// Redirections are followed: MOVED retries on the node it names and
// reloads the slot map in the background; ASK retries there once, after
// ASKING on the same connection, leaving the map alone; TRYAGAIN,
// CLUSTERDOWN, MASTERDOWN and LOADING are waited out with backoff. All of
// them count against ClusterOptions.MaxRedirects. A command that failed
// without reaching a node (the node refused the connection...) is
// retried, after asking for a reload of the slot map, up to
// Options.MaxRetries times; a write whose outcome is unknown is never
// sent twice (OutcomeOf(err) == OutcomeUnknown tells the caller).
//
// The slot map is reloaded from CLUSTER SHARDS (CLUSTER SLOTS on servers
// that lack it) every RefreshInterval, and as soon as a redirection or a
// failure asks for it, at most once per MinRefreshInterval, by one
// background goroutine that Close stops. The context of each command
// bounds the whole call, redirections and retries included.
type ClusterClient struct {
	cmdable
	front
	cfg *clusterConfig

	closed   atomic.Bool
	closing  chan struct{} // closed by Close
	bgCtx    context.Context
	bgCancel context.CancelFunc
	loopDone chan struct{} // closed when the refresh goroutine ends
	wake     chan struct{} // buffered(1): asks the refresh goroutine for a reload

	// refreshSem holds one token for whoever is reloading the slot map;
	// refreshErr, the last reload's error, is used only by its holder.
	refreshSem chan struct{}
	refreshErr error
	refreshGen atomic.Uint64 // reloads finished, successful or not

	state    atomic.Pointer[clusterState] // nil until the first successful load
	noShards atomic.Bool                  // the servers lack CLUSTER SHARDS

	hintMu sync.Mutex // guards hint
	hint   string     // a node that knows the newest slot map, from MOVED

	mu          sync.Mutex // guards the fields below and every node's lastSeen
	nodes       map[string]*clusterNode
	round       uint64 // successful reloads so far
	nodesClosed bool

	stats     clusterCounters
	redirects redirectLog
}

// clusterNode is one server of the cluster and the Client that reaches it.
type clusterNode struct {
	addr     string
	client   *Client
	latency  atomic.Int64 // nanoseconds of the last PING; 0 when unknown
	lastSeen uint64       // the last reload that listed it; ClusterClient.mu
}

// ClusterStats are counters of a ClusterClient since it was created.
type ClusterStats struct {
	// Refreshes counts reloads of the slot map (each asks one node after
	// another until one answers); RefreshErrors those that found no node
	// answering; TopologyChanges those that found a different map.
	Refreshes, RefreshErrors, TopologyChanges uint64
	// Moved and Ask count the redirections followed; Busy the TRYAGAIN,
	// CLUSTERDOWN, MASTERDOWN and LOADING replies waited out.
	Moved, Ask, Busy uint64
	// Retries counts commands sent again after a connection failure.
	Retries uint64
	// Nodes is the number of node Clients open now.
	Nodes int
}

type clusterCounters struct {
	refreshes, refreshErrors, changes atomic.Uint64
	moved, ask, busy, retries         atomic.Uint64
}

// NewClusterClient returns a ClusterClient for the cluster that the seed
// addresses of opt lead to (nil means all defaults: a cluster with a node
// at 127.0.0.1:6379). It returns at once: the slot map is loaded in the
// background, and the first commands wait for it (within their context);
// ConnectCluster waits for it and checks the primaries. The caller must
// Close the ClusterClient.
func NewClusterClient(opt *ClusterOptions) *ClusterClient {
	c := &ClusterClient{
		cfg:        opt.config(),
		closing:    make(chan struct{}),
		loopDone:   make(chan struct{}),
		wake:       make(chan struct{}, 1),
		refreshSem: make(chan struct{}, 1),
		nodes:      make(map[string]*clusterNode),
	}
	c.bgCtx, c.bgCancel = context.WithCancel(context.Background())
	c.front.init(c.runCmd, c.runPipeline)
	c.cmdable = c.processCmd
	c.requestRefresh("")
	go c.refreshLoop()
	return c
}

// Close stops the background reloads and closes every node's Client.
// Commands issued after Close fail with ErrClosed. It is idempotent.
func (c *ClusterClient) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(c.closing)
	c.bgCancel()
	<-c.loopDone
	c.flushRedirects(true)
	c.mu.Lock()
	c.nodesClosed = true
	nodes := c.nodes
	c.nodes = nil
	c.mu.Unlock()
	var errs []error
	for _, n := range nodes {
		if err := n.client.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Stats returns the ClusterClient's counters.
func (c *ClusterClient) Stats() ClusterStats {
	c.mu.Lock()
	n := len(c.nodes)
	c.mu.Unlock()
	return ClusterStats{
		Refreshes:       c.stats.refreshes.Load(),
		RefreshErrors:   c.stats.refreshErrors.Load(),
		TopologyChanges: c.stats.changes.Load(),
		Moved:           c.stats.moved.Load(),
		Ask:             c.stats.ask.Load(),
		Busy:            c.stats.busy.Load(),
		Retries:         c.stats.retries.Load(),
		Nodes:           n,
	}
}

// RotateCredentials asks ClusterOptions.CredentialsProvider for
// credentials once, and makes every connection of every node, and the
// ClusterClient's PubSubs, authenticate with them between commands, as
// Pool.RotateCredentials does for one pool. Nodes found later connect with
// what the provider returns then. It returns the provider's error, and
// then changes nothing, or an error when there is no provider.
func (c *ClusterClient) RotateCredentials(ctx context.Context) error {
	provider := c.cfg.node.CredentialsProvider
	if provider == nil {
		return errNoCredentialsProvider
	}
	creds, err := provider(ctx)
	if err != nil {
		return err
	}
	c.cfg.retry.creds.rotate(creds)
	c.mu.Lock()
	nodes := make([]*clusterNode, 0, len(c.nodes))
	for _, n := range c.nodes {
		nodes = append(nodes, n)
	}
	c.mu.Unlock()
	for _, n := range nodes {
		n.client.pool.rotateCredentials(creds)
	}
	return nil
}

// ForEachPrimary calls fn, concurrently, with the Client of every primary
// that serves slots, and returns the errors it returned, joined. ctx is
// passed to fn and bounds the wait for the slot map. The Clients belong
// to the ClusterClient: fn must not close them or keep them.
func (c *ClusterClient) ForEachPrimary(ctx context.Context, fn func(ctx context.Context, node *Client) error) error {
	st, err := c.loadState(ctx)
	if err != nil {
		return err
	}
	return forEachNode(ctx, st.primaries, fn)
}

// ForEachNode is ForEachPrimary over every node that is not marked
// failed, primaries and replicas. A replica's connections do not send READONLY unless
// ClusterOptions.ReadOnly (or a routing option implying it) is set.
func (c *ClusterClient) ForEachNode(ctx context.Context, fn func(ctx context.Context, node *Client) error) error {
	st, err := c.loadState(ctx)
	if err != nil {
		return err
	}
	return forEachNode(ctx, st.all, fn)
}

func forEachNode(ctx context.Context, nodes []*clusterNode, fn func(context.Context, *Client) error) error {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { errs[i] = fn(ctx, n.client) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// node returns the node at addr, creating its Client if needed.
func (c *ClusterClient) node(addr string) (*clusterNode, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodeLocked(addr)
}

func (c *ClusterClient) nodeLocked(addr string) (*clusterNode, error) {
	if c.nodesClosed {
		return nil, ErrClosed
	}
	if n, ok := c.nodes[addr]; ok {
		return n, nil
	}
	opt := c.cfg.node
	opt.Addr = addr
	if c.cfg.readOnly {
		opt = readOnlyOptions(opt)
	}
	n := &clusterNode{addr: addr, client: NewClient(&opt), lastSeen: c.round}
	c.nodes[addr] = n
	return n, nil
}
