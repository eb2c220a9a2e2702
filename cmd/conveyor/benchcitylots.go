package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
)

// citylotsStreets and citylotsTypes are the street names and types the
// generated lots lie on.
var (
	citylotsStreets = []string{"UNKNOWN", "JEFFERSON", "BEACH", "NORTH POINT", "BAY", "FRANCISCO", "CHESTNUT", "LOMBARD",
		"GREENWICH", "FILBERT", "UNION", "GREEN", "VALLEJO", "BROADWAY", "PACIFIC", "JACKSON", "WASHINGTON", "CLAY",
		"SACRAMENTO", "CALIFORNIA", "PINE", "BUSH", "SUTTER", "POST", "GEARY", "OFARRELL", "ELLIS", "EDDY", "TURK",
		"GOLDEN GATE", "MCALLISTER", "FULTON", "GROVE", "HAYES", "FELL", "OAK", "PAGE", "HAIGHT", "WALLER"}
	citylotsTypes = []string{"ST", "AVE", "BLVD", "WAY", "TER", "PL", "CT", "DR"}
)

// benchCitylots runs `conveyor bench citylots [-n 213068] [-seed 1]`: it
// writes a data set shaped like the "citylots" GeoJSON benchmark of
// event-ruler and quamina (one feature per line, about 650 bytes each),
// deterministically from the seed, for the matcher benchmarks.
func benchCitylots(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench citylots", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 213068, "number of features")
	seed := fs.Int64("seed", 1, "random seed")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: conveyor bench citylots [-n 213068] [-seed 1] > citylots.jlines\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *n < 0 {
		fs.Usage()
		return errors.New("bench citylots: unexpected arguments")
	}
	w := bufio.NewWriterSize(stdout, 1<<20)
	writeCitylots(w, *n, *seed)
	return w.Flush()
}

// writeCitylots writes n features generated from seed.
func writeCitylots(w *bufio.Writer, n int, seed int64) {
	r := rand.New(rand.NewSource(seed))
	for i := range n {
		block, lot := r.Intn(7600)+1, r.Intn(300)+1
		blklot := fmt.Sprintf("%04d%03d", block, lot)
		if i%997 == 0 {
			blklot = "VACSTWIL" // a vacant street: a lot number that is not a number
		}
		from := r.Intn(4000)
		fmt.Fprintf(w, `{"type":"Feature","properties":{"MAPBLKLOT":%q,"BLKLOT":%q,"BLOCK_NUM":"%04d","LOT_NUM":"%03d","FROM_ST":"%d","TO_ST":"%d","STREET":%q,`,
			blklot, blklot, block, lot, from, from+r.Intn(40), citylotsStreets[r.Intn(len(citylotsStreets))])
		if r.Intn(10) == 0 {
			w.WriteString(`"ST_TYPE":null,`)
		} else {
			fmt.Fprintf(w, `"ST_TYPE":%q,`, citylotsTypes[r.Intn(len(citylotsTypes))])
		}
		side := "E"
		if r.Intn(2) == 0 {
			side = "O"
		}
		fmt.Fprintf(w, `"ODD_EVEN":%q},"geometry":{"type":"Polygon","coordinates":[[`, side)
		x, y := -122.52+r.Float64()*0.16, 37.70+r.Float64()*0.12
		corners := 4 + r.Intn(9)
		for c := range corners {
			if c > 0 {
				w.WriteByte(',')
			}
			fmt.Fprintf(w, "[%.15f,%.15f,0.0]", x+r.Float64()*0.0005, y+r.Float64()*0.0005)
		}
		fmt.Fprintf(w, ",[%.15f,%.15f,0.0]]]}}\n", x, y)
	}
}
