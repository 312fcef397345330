package respool

import (
	"context"
	"fmt"

	"github.com/respool/respool/resp"
)

// Geospatial commands. Distances are in the unit given ("m", "km", "mi",
// "ft"); an empty unit means "km".

// GeoLocation is a member of a geospatial index: its name and position,
// and, in search results, its distance and geohash when asked for.
type GeoLocation struct {
	Name                string
	Longitude, Latitude float64
	// Dist is the distance from the search's centre (WithDist).
	Dist float64
	// GeoHash is the raw 52-bit geohash (WithHash).
	GeoHash int64
}

// GeoPos is a position.
type GeoPos struct {
	Longitude, Latitude float64
}

// GeoSearchQuery is the shape and centre of a GEOSEARCH. The centre is
// Member when set, else Longitude and Latitude. The shape is a circle of
// Radius when Radius is above 0, else a box of BoxWidth by BoxHeight.
type GeoSearchQuery struct {
	Member              string
	Longitude, Latitude float64

	Radius     float64
	RadiusUnit string // "km" when empty

	BoxWidth, BoxHeight float64
	BoxUnit             string // "km" when empty

	// Sort is "ASC" (nearest first), "DESC" or "" (unsorted).
	Sort string
	// Count above 0 caps the results; with CountAny the server stops at
	// the first Count matches found instead of the nearest ones.
	Count    int64
	CountAny bool
}

// GeoSearchLocationQuery is a GeoSearchQuery that returns positions,
// distances or hashes along with the names.
type GeoSearchLocationQuery struct {
	GeoSearchQuery
	WithCoord bool
	WithDist  bool
	WithHash  bool
}

// GeoSearchStoreQuery is a GeoSearchQuery whose results are stored;
// StoreDist stores the distances as scores instead of the geohashes.
type GeoSearchStoreQuery struct {
	GeoSearchQuery
	StoreDist bool
}

func geoUnit(u string) string {
	if u == "" {
		return "km"
	}
	return u
}

// geoQueryArgs is the most arguments GeoSearchQuery.appendArgs appends.
const geoQueryArgs = 11

func (q *GeoSearchQuery) appendArgs(argv []any) []any {
	if q.Member != "" {
		argv = append(argv, "FROMMEMBER", q.Member)
	} else {
		argv = append(argv, "FROMLONLAT", q.Longitude, q.Latitude)
	}
	if q.Radius > 0 {
		argv = append(argv, "BYRADIUS", q.Radius, geoUnit(q.RadiusUnit))
	} else {
		argv = append(argv, "BYBOX", q.BoxWidth, q.BoxHeight, geoUnit(q.BoxUnit))
	}
	if q.Sort != "" {
		argv = append(argv, q.Sort)
	}
	if q.Count > 0 {
		argv = append(argv, "COUNT", q.Count)
		if q.CountAny {
			argv = append(argv, "ANY")
		}
	}
	return argv
}

// GeoAdd adds or updates members of the geospatial index at key and
// returns how many were added.
func (c cmdable) GeoAdd(ctx context.Context, key string, geoLocation ...*GeoLocation) *Cmd[int64] {
	argv := make([]any, 0, 2+3*len(geoLocation))
	argv = append(argv, "GEOADD", key)
	for _, l := range geoLocation {
		argv = append(argv, l.Longitude, l.Latitude, l.Name)
	}
	cmd := newIntCmdArgv(argv)
	c(ctx, cmd)
	return cmd
}

// GeoPos returns the positions of members in order; nil for a missing one.
func (c cmdable) GeoPos(ctx context.Context, key string, members ...string) *Cmd[[]*GeoPos] {
	cmd := newCmdArgv(decodeGeoPositions, appendStrings(argvOf(len(members), "GEOPOS", key), members))
	c(ctx, cmd)
	return cmd
}

// GeoDist returns the distance between two members in unit; Nil when
// either is missing.
func (c cmdable) GeoDist(ctx context.Context, key, member1, member2, unit string) *Cmd[float64] {
	cmd := newCmd(DecodeFloat, "GEODIST", key, member1, member2, geoUnit(unit))
	c(ctx, cmd)
	return cmd
}

// GeoHash returns the 11-character geohash strings of members in order;
// "" for a missing one.
func (c cmdable) GeoHash(ctx context.Context, key string, members ...string) *Cmd[[]string] {
	cmd := borrowing(newCmdArgv(DecodeStrings, appendStrings(argvOf(len(members), "GEOHASH", key), members)))
	c(ctx, cmd)
	return cmd
}

// GeoSearch returns the names of the members inside the area of q.
func (c cmdable) GeoSearch(ctx context.Context, key string, q *GeoSearchQuery) *Cmd[[]string] {
	cmd := borrowing(newCmdArgv(DecodeStrings, q.appendArgs(argvOf(geoQueryArgs, "GEOSEARCH", key))))
	c(ctx, cmd)
	return cmd
}

// GeoSearchLocation is GeoSearch returning, for each member, what q asks
// for: position, distance (in the query's unit) and hash.
func (c cmdable) GeoSearchLocation(ctx context.Context, key string, q *GeoSearchLocationQuery) *Cmd[[]GeoLocation] {
	argv := q.appendArgs(argvOf(geoQueryArgs+3, "GEOSEARCH", key))
	if q.WithCoord {
		argv = append(argv, "WITHCOORD")
	}
	if q.WithDist {
		argv = append(argv, "WITHDIST")
	}
	if q.WithHash {
		argv = append(argv, "WITHHASH")
	}
	cmd := newCmdArgv(geoLocationDecoder(q.WithDist, q.WithHash, q.WithCoord), argv)
	c(ctx, cmd)
	return cmd
}

// GeoSearchStore stores the members of key inside the area of q in the
// sorted set at store and returns how many were stored.
func (c cmdable) GeoSearchStore(ctx context.Context, key, store string, q *GeoSearchStoreQuery) *Cmd[int64] {
	argv := q.appendArgs(argvOf(geoQueryArgs+1, "GEOSEARCHSTORE", store, key))
	if q.StoreDist {
		argv = append(argv, "STOREDIST")
	}
	cmd := newIntCmdArgv(argv)
	c(ctx, cmd)
	return cmd
}

// decodeGeoPositions decodes GEOPOS: an array of [longitude, latitude]
// pairs, null for missing members.
var decodeGeoPositions = DecodeSlice(func(e resp.Value) (*GeoPos, error) {
	if e.IsNull() {
		return nil, nil
	}
	p, err := decodeGeoPos(e)
	if err != nil {
		return nil, err
	}
	return &p, nil
})

func decodeGeoPos(v resp.Value) (GeoPos, error) {
	f, err := v.Elems()
	if err != nil {
		return GeoPos{}, err
	}
	if len(f) != 2 {
		return GeoPos{}, fmt.Errorf("respool: position has %d elements, want 2", len(f))
	}
	lon, err := DecodeFloat(f[0])
	if err != nil {
		return GeoPos{}, err
	}
	lat, err := DecodeFloat(f[1])
	if err != nil {
		return GeoPos{}, err
	}
	return GeoPos{Longitude: lon, Latitude: lat}, nil
}

// geoLocationDecoder decodes GEOSEARCH replies with WITH* options: each
// element is [name, dist?, hash?, [lon, lat]?] in that order, or the bare
// name when no option was given.
func geoLocationDecoder(withDist, withHash, withCoord bool) func(resp.Value) ([]GeoLocation, error) {
	return DecodeSlice(func(e resp.Value) (GeoLocation, error) {
		if e.Kind() != resp.KindArray {
			name, err := DecodeString(e)
			return GeoLocation{Name: name}, err
		}
		f, err := e.Elems()
		if err != nil {
			return GeoLocation{}, err
		}
		want := 1
		for _, w := range []bool{withDist, withHash, withCoord} {
			if w {
				want++
			}
		}
		if len(f) != want {
			return GeoLocation{}, fmt.Errorf("respool: search result has %d elements, want %d", len(f), want)
		}
		var l GeoLocation
		if l.Name, err = DecodeString(f[0]); err != nil {
			return GeoLocation{}, err
		}
		i := 1
		if withDist {
			if l.Dist, err = DecodeFloat(f[i]); err != nil {
				return GeoLocation{}, err
			}
			i++
		}
		if withHash {
			if l.GeoHash, err = DecodeInt(f[i]); err != nil {
				return GeoLocation{}, err
			}
			i++
		}
		if withCoord {
			p, err := decodeGeoPos(f[i])
			if err != nil {
				return GeoLocation{}, err
			}
			l.Longitude, l.Latitude = p.Longitude, p.Latitude
		}
		return l, nil
	})
}
