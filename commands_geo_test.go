package respool

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
)

func TestGeoCommands(t *testing.T) {
	t.Parallel()
	runBothProtocols(t, func(t *testing.T, c *Client) {
		ctx := context.Background()
		k, dst := testKey(t, "sicily"), testKey(t, "dst")
		palermo := &GeoLocation{Name: "Palermo", Longitude: 13.361389, Latitude: 38.115556}
		catania := &GeoLocation{Name: "Catania", Longitude: 15.087269, Latitude: 37.502669}
		if n, err := c.GeoAdd(ctx, k, palermo, catania).Result(); err != nil || n != 2 {
			t.Fatalf("GeoAdd = %d, %v", n, err)
		}
		near := func(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

		pos, err := c.GeoPos(ctx, k, "Palermo", "Atlantis").Result()
		if err != nil || len(pos) != 2 || pos[0] == nil || pos[1] != nil ||
			!near(pos[0].Longitude, palermo.Longitude, 1e-5) || !near(pos[0].Latitude, palermo.Latitude, 1e-5) {
			t.Fatalf("GeoPos = %v, %v", pos, err)
		}
		if d, err := c.GeoDist(ctx, k, "Palermo", "Catania", "km").Result(); err != nil || !near(d, 166.2742, 0.001) {
			t.Fatalf("GeoDist = %v, %v", d, err)
		}
		if d, err := c.GeoDist(ctx, k, "Palermo", "Catania", "m").Result(); err != nil || !near(d, 166274.1516, 1) {
			t.Fatalf("GeoDist m = %v, %v", d, err)
		}
		if _, err := c.GeoDist(ctx, k, "Palermo", "Atlantis", "").Result(); !errors.Is(err, Nil) {
			t.Fatalf("GeoDist to a missing member: %v, want Nil", err)
		}
		if h, err := c.GeoHash(ctx, k, "Palermo", "Atlantis").Result(); err != nil || !slices.Equal(h, []string{"sqc8b49rny0", ""}) {
			t.Fatalf("GeoHash = %v, %v", h, err)
		}

		around := GeoSearchQuery{Longitude: 15, Latitude: 37, Radius: 200, RadiusUnit: "km", Sort: "ASC"}
		if m, err := c.GeoSearch(ctx, k, &around).Result(); err != nil || !slices.Equal(m, []string{"Catania", "Palermo"}) {
			t.Fatalf("GeoSearch = %v, %v", m, err)
		}
		box := GeoSearchQuery{Member: "Palermo", BoxWidth: 400, BoxHeight: 400, BoxUnit: "km", Sort: "DESC", Count: 1}
		if m, err := c.GeoSearch(ctx, k, &box).Result(); err != nil || !slices.Equal(m, []string{"Catania"}) {
			t.Fatalf("GeoSearch BYBOX DESC COUNT 1 = %v, %v", m, err)
		}
		locs, err := c.GeoSearchLocation(ctx, k, &GeoSearchLocationQuery{GeoSearchQuery: around, WithCoord: true, WithDist: true, WithHash: true}).Result()
		if err != nil || len(locs) != 2 || locs[0].Name != "Catania" || !near(locs[0].Dist, 56.4413, 0.001) ||
			!near(locs[0].Longitude, catania.Longitude, 1e-5) || locs[0].GeoHash != 3479447370796909 {
			t.Fatalf("GeoSearchLocation = %+v, %v", locs, err)
		}
		locs, err = c.GeoSearchLocation(ctx, k, &GeoSearchLocationQuery{GeoSearchQuery: around, WithDist: true}).Result()
		if err != nil || len(locs) != 2 || locs[1].Name != "Palermo" || !near(locs[1].Dist, 190.4424, 0.001) || locs[1].Longitude != 0 {
			t.Fatalf("GeoSearchLocation WITHDIST = %+v, %v", locs, err)
		}
		locs, err = c.GeoSearchLocation(ctx, k, &GeoSearchLocationQuery{GeoSearchQuery: around}).Result()
		if err != nil || len(locs) != 2 || locs[0].Name != "Catania" {
			t.Fatalf("GeoSearchLocation without options = %+v, %v", locs, err)
		}
		if n, err := c.GeoSearchStore(ctx, k, dst, &GeoSearchStoreQuery{GeoSearchQuery: around, StoreDist: true}).Result(); err != nil || n != 2 {
			t.Fatalf("GeoSearchStore = %d, %v", n, err)
		}
		if zs, err := c.ZRangeWithScores(ctx, dst, 0, -1).Result(); err != nil || len(zs) != 2 || !near(zs[0].Score, 56.4413, 0.001) {
			t.Fatalf("stored distances = %v, %v", zs, err)
		}
	})
}
