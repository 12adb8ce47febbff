package backup

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"
	"strings"
)

// tableConsumer receives the tables of a PostgreSQL deployment's backup
// as [extract] reads them: Verify checks them, Restore also copies them
// into the target database.
type tableConsumer interface {
	// schema prepares for the tables that s describes, read from the
	// archive's schema entry before any of them.
	schema(ctx context.Context, s *pgSnapshot) error
	// table reads the COPY stream r of t to its end and returns the
	// number of rows it holds.
	table(ctx context.Context, t pgTable, r io.Reader) (int64, error)
}

// pgExtraction is what extract found of a PostgreSQL deployment's
// database.
type pgExtraction struct {
	schema *pgSnapshot
	// rows and parts count, by table, what the archive holds.
	rows  map[string]int64
	parts map[string]int
	// next is the index in schema.Tables of the next table expected.
	next int
}

// readSchema reads the schema entry.
func (x *extraction) readSchema(tr io.Reader, hdr *tar.Header) (entry, error) {
	e := entry{Path: schemaPath, Type: typeTable, Size: hdr.Size, Mode: uint32(hdr.Mode) & 0o7777}
	if x.pg != nil {
		return e, fmt.Errorf("%w: entry %s appears twice", ErrCorrupt, schemaPath)
	}
	if hdr.Size > maxSchemaSize {
		return e, fmt.Errorf("%w: schema of %d bytes", ErrCorrupt, hdr.Size)
	}
	b, err := io.ReadAll(io.LimitReader(tr, hdr.Size))
	if err != nil {
		return e, corrupt(err)
	}
	sum := sha256.Sum256(b)
	e.SHA256 = hex.EncodeToString(sum[:])
	var s pgSnapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return e, fmt.Errorf("%w: schema: %v", ErrCorrupt, err)
	}
	if s.Encoding != TableEncoding {
		return e, fmt.Errorf("%w: tables encoded as %q, this Signet reads %q", ErrCorrupt, s.Encoding, TableEncoding)
	}
	seen := map[string]bool{}
	for _, t := range s.Tables {
		if !tableName.MatchString(t.Name) || seen[t.Name] || t.Name == migrationsTable || len(t.Columns) == 0 {
			return e, fmt.Errorf("%w: schema: table %q", ErrCorrupt, t.Name)
		}
		seen[t.Name] = true
	}
	x.pg = &pgExtraction{schema: &s, rows: map[string]int64{}, parts: map[string]int{}}
	return e, nil
}

// parsePart splits a part's path into its table and number.
func parsePart(name string) (string, int, bool) {
	table, num, ok := strings.Cut(strings.TrimPrefix(name, tablePrefix), "/")
	if !ok || len(num) != 6 {
		return "", 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || partPath(table, n) != name {
		return "", 0, false
	}
	return table, n, true
}

// readTable reads the table whose first part's header is hdr, and the
// parts after it, through c. It returns the header that follows the
// table's last part, or the error met looking for it.
func (x *extraction) readTable(ctx context.Context, tr *tar.Reader, hdr *tar.Header, c tableConsumer, order *[]string) (*tar.Header, error, error) {
	if x.pg == nil {
		return nil, nil, fmt.Errorf("%w: table rows before the schema", ErrCorrupt)
	}
	table, n, ok := parsePart(hdr.Name)
	if !ok {
		return nil, nil, fmt.Errorf("%w: entry with an unsafe path %q", ErrCorrupt, hdr.Name)
	}
	ts := x.pg.schema.Tables
	if x.pg.next >= len(ts) || ts[x.pg.next].Name != table || n != 1 {
		return nil, nil, fmt.Errorf("%w: part %s out of order", ErrCorrupt, hdr.Name)
	}
	t := ts[x.pg.next]
	x.pg.next++
	pr := &partsReader{x: x, tr: tr, table: table, order: order}
	if err := pr.start(hdr); err != nil {
		return nil, nil, err
	}
	rows, err := c.table(ctx, t, pr)
	if err == nil {
		// The consumer read the stream to its end; drain what remains
		// of an error-free reader all the same.
		_, err = io.Copy(io.Discard, pr)
	}
	if err != nil {
		if pr.err != nil {
			return nil, nil, pr.err
		}
		var de *dbError
		if errors.Is(err, ErrCorrupt) || errors.Is(err, context.Canceled) || errors.As(err, &de) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("%w: table %s: %w", ErrCorrupt, table, err)
	}
	x.pg.rows[table], x.pg.parts[table] = rows, pr.n
	return pr.next, pr.nextErr, nil
}

// partsReader reads the consecutive parts of one table as one stream,
// recording each part as an entry.
type partsReader struct {
	x     *extraction
	tr    *tar.Reader
	table string
	order *[]string
	cur   entry
	h     hash.Hash
	left  int64
	n     int
	done  bool
	// err is an error of the archive (not of the stream's contents).
	err error
	// next is the header after the table's last part, or nextErr the
	// error tr.Next gave.
	next    *tar.Header
	nextErr error
}

// start begins the part whose header is hdr.
func (p *partsReader) start(hdr *tar.Header) error {
	if hdr.Typeflag != tar.TypeReg || hdr.Size <= 0 || hdr.Size > partSize {
		return fmt.Errorf("%w: part %s of %d bytes", ErrCorrupt, hdr.Name, hdr.Size)
	}
	if _, dup := p.x.seen[hdr.Name]; dup {
		return fmt.Errorf("%w: entry %s appears twice", ErrCorrupt, hdr.Name)
	}
	p.n++
	p.cur = entry{Path: hdr.Name, Type: typeTable, Size: hdr.Size, Mode: uint32(hdr.Mode) & 0o7777}
	p.h = sha256.New()
	p.left = hdr.Size
	return nil
}

func (p *partsReader) Read(b []byte) (int, error) {
	for {
		if p.err != nil {
			return 0, p.err
		}
		if p.done {
			return 0, io.EOF
		}
		if p.left > 0 {
			k, err := p.tr.Read(b[:min(int64(len(b)), p.left)])
			p.h.Write(b[:k])
			p.left -= int64(k)
			if err != nil && !(errors.Is(err, io.EOF) && p.left == 0) {
				p.err = corrupt(unexpected(err))
				return k, p.err
			}
			return k, nil
		}
		// The part is read: record it, and look at the next entry.
		p.cur.SHA256 = hex.EncodeToString(p.h.Sum(nil))
		p.x.seen[p.cur.Path] = p.cur
		*p.order = append(*p.order, p.cur.Path)
		hdr, err := p.tr.Next()
		if err != nil {
			p.done, p.nextErr = true, err
			continue
		}
		if t, n, ok := parsePart(hdr.Name); ok && t == p.table {
			if n != p.n+1 {
				p.err = fmt.Errorf("%w: part %s out of order", ErrCorrupt, hdr.Name)
				continue
			}
			if p.err = p.start(hdr); p.err != nil {
				continue
			}
			continue
		}
		p.done, p.next = true, hdr
	}
}

// checkTables checks the manifest's description of the database against
// the schema entry and what the archive holds.
func (x *extraction) checkTables() error {
	m := x.m.Postgres
	switch {
	case m == nil && x.pg == nil:
		return nil
	case m == nil || x.pg == nil:
		return fmt.Errorf("%w: the manifest and the archive disagree on holding a database", ErrCorrupt)
	}
	s := x.pg.schema
	if m.Encoding != s.Encoding || !slices.Equal(m.Migrations, s.Migrations) || len(m.Tables) != len(s.Tables) {
		return fmt.Errorf("%w: the manifest's schema differs from the archive's", ErrCorrupt)
	}
	if x.pg.next != len(s.Tables) {
		return fmt.Errorf("%w: the archive holds %d of the schema's %d tables (the backup is truncated)", ErrCorrupt, x.pg.next, len(s.Tables))
	}
	for i, t := range m.Tables {
		st := s.Tables[i]
		if t.Name != st.Name || len(t.Columns) != len(st.Columns) {
			return fmt.Errorf("%w: the manifest's table %s differs from the archive's", ErrCorrupt, t.Name)
		}
		for j, c := range t.Columns {
			sc := st.Columns[j]
			if c.Name != sc.Name || c.Type != sc.Type || c.OID != sc.OID {
				return fmt.Errorf("%w: the manifest's column %s.%s differs from the archive's", ErrCorrupt, t.Name, c.Name)
			}
		}
		if t.Rows != x.pg.rows[t.Name] || t.Parts != x.pg.parts[t.Name] {
			return fmt.Errorf("%w: table %s holds %d rows in %d parts, the manifest says %d in %d", ErrCorrupt,
				t.Name, x.pg.rows[t.Name], x.pg.parts[t.Name], t.Rows, t.Parts)
		}
	}
	return nil
}
