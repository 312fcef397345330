package respool

// pooledConn is the bookkeeping a Pool keeps on each of its connections.
type pooledConn struct{}

// Pool is a placeholder until the pool lands.
type Pool struct{}
