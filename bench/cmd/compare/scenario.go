package main

import (
	"fmt"
	"strings"
)

// opKind is what one call of a scenario does.
type opKind int

const (
	opGet  opKind = iota // one GET
	opSet                // one SET
	opPipe               // one explicit pipeline of batch GETs
	opMGet               // one MGET of batch keys
)

func (k opKind) String() string {
	switch k {
	case opGet:
		return "GET"
	case opSet:
		return "SET"
	case opPipe:
		return "pipeline"
	case opMGet:
		return "MGET"
	}
	return fmt.Sprintf("opKind(%d)", int(k))
}

// scenario is one measured access pattern: one row of the report.
type scenario struct {
	name       string
	title      string // row label in the report
	kind       opKind
	goroutines int
	batch      int // commands per pipeline, keys per MGET; 1 otherwise
	valueSize  int // bytes per value
	// poolSize, when positive, caps every client's connections (the small
	// pool scenario); zero leaves each library's default.
	poolSize int
	// clients, when set, restricts the scenario to these clients.
	clients []string
	// ours is the respool client whose ratio to the best peer the row
	// reports: "respool" unless set.
	ours string
	// series groups the scenarios that the plots draw as one line per
	// client against goroutines ("get", "set"); empty for none.
	series string
	// noReference: redis-benchmark has no equivalent run.
	noReference bool
	// cluster runs the scenario against the driver's private 6-node
	// cluster instead of its single server, with each library's cluster
	// client.
	cluster bool
	// cache marks the client-side caching scenarios (scenario_cache.go):
	// once in every coldEvery calls a key no cache holds is read.
	cache     bool
	coldEvery int
}

// opsPerCall is how many operations one call counts for: every command of
// a pipeline, every key of an MGET.
func (s scenario) opsPerCall() int {
	if s.batch > 1 {
		return s.batch
	}
	return 1
}

// oursClient is the respool client the row's ratio is about.
func (s scenario) oursClient() string {
	if s.ours != "" {
		return s.ours
	}
	return "respool"
}

// runs reports whether client c takes part in the scenario.
func (s scenario) runs(c string) bool {
	if s.clients == nil {
		return !isOptIn(c)
	}
	for _, n := range s.clients {
		if n == c {
			return true
		}
	}
	return false
}

// Value sizes of the scenarios.
const (
	size16   = 16
	size1K   = 1 << 10
	size100K = 100 << 10
)

// explicitPipelineClients leaves out goredis-auto: an explicit pipeline is
// the same Pipeline() call with or without the auto-pipeliner, so its row
// would repeat go-redis's.
var explicitPipelineClients = []string{"respool", "respool-exclusive", "goredis", "redigo", "rueidis"}

// clusterClients are the clients with a cluster client: redigo has none,
// and respool's exclusive mode is left out to keep the rows to one
// respool client.
var clusterClients = []string{"respool", "goredis", "goredis-auto", "rueidis"}

// scenarios lists every scenario the driver knows, in report order.
var scenarios = []scenario{
	getScenario(1), getScenario(4), getScenario(8), getScenario(16), getScenario(256), getScenario(1024),
	setScenario(1), setScenario(16), setScenario(256), setScenario(1024),
	{name: "pipe10", title: "pipeline of 10 GETs, 1 goroutine", kind: opPipe, goroutines: 1, batch: 10, valueSize: size16, clients: explicitPipelineClients},
	{name: "pipe100", title: "pipeline of 100 GETs, 1 goroutine", kind: opPipe, goroutines: 1, batch: 100, valueSize: size16, clients: explicitPipelineClients},
	{name: "mget100", title: "MGET of 100 keys, 1 goroutine", kind: opMGet, goroutines: 1, batch: 100, valueSize: size16},
	{name: "get16-1k", title: "GET 1 KiB, 16 goroutines", kind: opGet, goroutines: 16, valueSize: size1K},
	{name: "set16-1k", title: "SET 1 KiB, 16 goroutines", kind: opSet, goroutines: 16, valueSize: size1K},
	{name: "get16-100k", title: "GET 100 KiB, 16 goroutines", kind: opGet, goroutines: 16, valueSize: size100K},
	{name: "set16-100k", title: "SET 100 KiB, 16 goroutines", kind: opSet, goroutines: 16, valueSize: size100K},
	{
		name: "pool10-get256", title: "GET, 256 goroutines, pool of 10", kind: opGet, goroutines: 256, valueSize: size16,
		poolSize: 10, ours: "respool-exclusive", noReference: true,
		clients: []string{"respool", "respool-exclusive", "goredis", "redigo"},
	},
	{
		name: "otel-get256", title: "GET, 256 goroutines, OTel tracing and metrics (no-op exporter)", kind: opGet,
		goroutines: 256, valueSize: size16, ours: "respool-otel", noReference: true,
		clients: []string{"respool", "respool-otel", "goredis", "goredis-otel"},
	},
	{
		name: "cluster-get256", title: "cluster GET, 256 goroutines", kind: opGet, goroutines: 256, valueSize: size16,
		cluster: true, clients: clusterClients,
	},
	{
		name: "cluster-set256", title: "cluster SET, 256 goroutines", kind: opSet, goroutines: 256, valueSize: size16,
		cluster: true, clients: clusterClients,
	},
}

func init() { scenarios = append(scenarios, cacheScenarios...) }

// quickScenarios is the -quick subset: enough to see every kind of row
// (one of them on the cluster) and to draw the GET plots.
var quickScenarios = []string{"get1", "get16", "get256", "get1024", "set256", "pipe100", "get16-1k", "pool10-get256", "otel-get256", "cluster-get256"}

func getScenario(g int) scenario {
	return scenario{name: fmt.Sprintf("get%d", g), title: fmt.Sprintf("GET, %s", goroutinesText(g)),
		kind: opGet, goroutines: g, valueSize: size16, series: "get"}
}

func setScenario(g int) scenario {
	return scenario{name: fmt.Sprintf("set%d", g), title: fmt.Sprintf("SET, %s", goroutinesText(g)),
		kind: opSet, goroutines: g, valueSize: size16, series: "set"}
}

func goroutinesText(g int) string {
	if g == 1 {
		return "1 goroutine"
	}
	return fmt.Sprintf("%s goroutines", groupThousands(g))
}

// groupThousands writes n with commas between groups of three digits.
func groupThousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func lookupScenario(name string) (scenario, error) {
	for _, s := range scenarios {
		if s.name == name {
			return s, nil
		}
	}
	return scenario{}, fmt.Errorf("compare: unknown scenario %q (known: %s)", name, scenarioNames())
}

func scenarioNames() string {
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.name
	}
	return strings.Join(names, ",")
}
