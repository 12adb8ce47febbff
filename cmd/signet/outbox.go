package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/mail"
)

const outboxUsage = `usage: signet outbox [--to ADDRESS] [--data DIR | --database-url URL | --config FILE]

Prints the e-mails a server with no SMTP server configured wrote to the
data directory's outbox (DIR/outbox), oldest first, or only those to
ADDRESS. The files are sealed under a key derived from the master key
(SIGNET_MASTER_KEY or DIR/master.key): they hold signing links and
one-time codes, which an operator may hand over by other means.
`

// cmdOutbox runs `signet outbox`.
func cmdOutbox(args []string, env *environment) error {
	fs := newFlagSet("outbox", env)
	fs.Usage = func() { fmt.Fprint(env.stderr, outboxUsage) }
	lf := registerLocation(fs)
	to := fs.String("to", "", "only the messages to `ADDRESS`")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("outbox: unexpected argument %q", pos[0])
	}
	loc, err := lf.resolve(env)
	if err != nil {
		return err
	}
	// No outbox, no message: and no data directory made by asking.
	if !fileExists(datadir.File(loc.dir, datadir.OutboxDir)) {
		return nil
	}
	d, err := openData(loc, env)
	if err != nil {
		return err
	}
	defer d.Close()
	key, err := d.OutboxKey(context.Background())
	if err != nil {
		return dataError(err)
	}
	spool := &mail.Spool{Dir: d.Outbox(), Key: key}
	var msgs []mail.Message
	if *to != "" {
		msgs, err = spool.To(*to)
	} else {
		msgs, err = spool.Messages()
	}
	if err != nil {
		return failf("outbox: %v", err)
	}
	for i, m := range msgs {
		if i > 0 {
			fmt.Fprintln(env.stdout, strings.Repeat("-", 72))
		}
		fmt.Fprintf(env.stdout, "To: %s\nSubject: %s\n\n%s\n", m.To, m.Subject, m.Body)
	}
	return nil
}
