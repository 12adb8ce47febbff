package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/sqldb"
)

// TestCreateWhileWriting takes backups while a writer stores blobs and
// then the rows that name them (as the workflow does), and the audit log
// appends events and publishes checkpoints to the write-once copies.
// Every backup verifies (no rollback between the audit log and its
// copies), and in every restored directory each row's blob is present.
func TestCreateWhileWriting(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	d, err := datadir.Open(f.dir, datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	log, err := d.AuditLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := d.CheckpointSigner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.AuditStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cps, _ := d.Checkpoints()
	pub, err := auditlog.NewPublisher(st, auditlog.PublisherConfig{Origin: datadir.AuditOrigin, Signer: signer,
		Anchorers: []auditlog.Anchorer{&anchor.SinkAnchorer{Sink: &anchor.FileSink{Dir: cps}, Name: "file:" + cps}}})
	if err != nil {
		t.Fatal(err)
	}
	bs, err := d.Blobs()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqldb.OpenDB(ctx, d.File(datadir.ServiceDB))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE docs (sha TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var werr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			b := make([]byte, 4096+i)
			rand.Read(b)
			name, _, err := bs.Put(ctx, bytes.NewReader(b))
			if err == nil {
				_, err = db.Exec(`INSERT INTO docs (sha) VALUES (?)`, name)
			}
			if err == nil {
				err = log.Record(ctx, auditlog.Event{Type: auditlog.DocumentUploaded, Tenant: "t1", Actor: auditlog.Actor{Kind: auditlog.ActorService, ID: fmt.Sprint(i)}, Outcome: auditlog.OutcomeSuccess})
			}
			if err == nil && i%5 == 0 {
				_, err = pub.Publish(ctx)
			}
			if err != nil {
				werr = err
				return
			}
		}
	}()
	key := testKey(t)
	var backups [][]byte
	for range 5 {
		var buf bytes.Buffer
		if _, err := Create(ctx, &buf, CreateOptions{Dir: f.dir, Key: key}); err != nil {
			close(stop)
			wg.Wait()
			t.Fatal(err)
		}
		backups = append(backups, buf.Bytes())
	}
	close(stop)
	wg.Wait()
	if werr != nil {
		t.Fatal(werr)
	}
	for i, b := range backups {
		dst := filepath.Join(t.TempDir(), "restored")
		s, err := Restore(ctx, bytes.NewReader(b), RestoreOptions{Dir: dst, Key: key, MasterKey: string(f.mk)})
		if err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		rdb, err := sql.Open(sqldb.DriverName, filepath.Join(dst, datadir.ServiceDB))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := rdb.Query(`SELECT sha FROM docs`)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var sha string
			rows.Scan(&sha)
			if _, err := os.Stat(filepath.Join(dst, "blobs", sha[:2], sha[2:])); err != nil {
				t.Errorf("backup %d: row names blob %s, which the backup lacks", i, sha)
			}
			n++
		}
		rows.Close()
		rdb.Close()
		t.Logf("backup %d: %d rows, %d blobs, %d events, %d checkpoints", i, n, s.Blobs, s.AuditEvents, s.Checkpoints)
	}
}
