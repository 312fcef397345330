package respooltest_test

import (
	"fmt"
	"log"

	"github.com/respool/respool/respooltest"
)

// A cluster made in TestMain can serve a whole package; see the package
// documentation.
func ExampleNewCluster() {
	c, err := respooltest.NewCluster()
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Println("seed addresses:", c.Addrs())
}

func ExampleNewServer() {
	s, err := respooltest.NewServer(respooltest.WithArgs("--maxclients", "20"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	fmt.Println("connect to", s.URL())
}
