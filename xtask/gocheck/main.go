// gocheck: the reference checker for `cargo xtask bench-ref`. It audits a C2SP
// tlog-tiles log with the Go reference implementation, golang.org/x/mod/sumdb/{tlog,note}:
// it opens the signed checkpoint, reads every entry bundle, recomputes every stored hash
// and the tree hash, compares each level-0 tile with the recomputed leaf hashes, and
// compares the root. Built in GOPATH mode against Debian's golang-golang-x-mod-dev.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gocheck: "+format+"\n", args...)
	os.Exit(1)
}

// tilePath formats N as C2SP tlog-tiles path elements (x001/x234/067).
func tilePath(prefix string, n int64, w int) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n /= 1000; n > 0; n /= 1000 {
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	if w < 256 {
		s = fmt.Sprintf("%s.p/%d", s, w)
	}
	return prefix + s
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: gocheck DIR VERIFIER_KEY")
	}
	dir, vkey := os.Args[1], os.Args[2]
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		fail("key: %v", err)
	}
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		fail("checkpoint: %v", err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		fail("checkpoint: too few lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		fail("checkpoint root")
	}
	stored := make([]tlog.Hash, 0, tlog.StoredHashCount(size))
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for b := int64(0); b*256 < size; b++ {
		w := int(size - b*256)
		if w > 256 {
			w = 256
		}
		data, err := os.ReadFile(filepath.Join(dir, tilePath("tile/entries/", b, w)))
		if err != nil {
			fail("%v", err)
		}
		tile, err := os.ReadFile(filepath.Join(dir, tilePath("tile/0/", b, w)))
		if err != nil || len(tile) != w*32 {
			fail("level 0 tile %d: %v", b, err)
		}
		for i := 0; i < w; i++ {
			if len(data) < 2 {
				fail("bundle %d truncated", b)
			}
			l := int(binary.BigEndian.Uint16(data))
			if len(data) < 2+l {
				fail("bundle %d truncated", b)
			}
			h := tlog.RecordHash(data[2 : 2+l])
			data = data[2+l:]
			if !bytes.Equal(h[:], tile[i*32:(i+1)*32]) {
				fail("bundle %d entry %d does not match its tile", b, i)
			}
			hs, err := tlog.StoredHashesForRecordHash(b*256+int64(i), h, reader)
			if err != nil {
				fail("%v", err)
			}
			stored = append(stored, hs...)
		}
		if len(data) != 0 {
			fail("bundle %d has trailing bytes", b)
		}
	}
	th, err := tlog.TreeHash(size, reader)
	if err != nil {
		fail("%v", err)
	}
	if !bytes.Equal(th[:], root) {
		fail("root mismatch")
	}
	fmt.Printf("verified %d entries\n", size)
}
