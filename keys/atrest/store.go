package atrest

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Errors callers branch on; test with errors.Is.
var (
	// ErrNoKey means the object has no data key: it was never made, or
	// it was shredded. Nothing sealed under it can be opened.
	ErrNoKey = errors.New("atrest: no data key")
	// ErrTenantShredded means the tenant's keys were shredded: no new
	// data key is made for it, and none of its data keys opens.
	ErrTenantShredded = errors.New("atrest: tenant keys shredded")
	// ErrNoTenantKEK means the registry names no key-encryption key for
	// the tenant yet.
	ErrNoTenantKEK = errors.New("atrest: no tenant key-encryption key")
	// ErrConflict means a compare-and-swap update found the row changed
	// or gone.
	ErrConflict = errors.New("atrest: data key changed meanwhile")
)

// A DataKey is one object's data key as stored: wrapped by a version of
// its tenant's key-encryption key (a key of the data-key-wrapping purpose
// in custody), bound to the object's identity.
type DataKey struct {
	// Tenant and Object name the object.
	Tenant, Object string
	// KEKID is the key in custody that wrapped the data key.
	KEKID string
	// KEKVersion is the version of KEKID that wrapped it.
	KEKVersion int
	// Wrapped is the output of keys.Manager.Wrap.
	Wrapped []byte
	// Created is when the data key was made.
	Created time.Time
}

// A TenantKEK is a tenant's entry in the registry of key-encryption keys.
type TenantKEK struct {
	Tenant string
	// KEKID is the tenant's key in custody; "" if the tenant was
	// shredded before it had one.
	KEKID string
	// Created is when the entry was made.
	Created time.Time
	// Shredded is set once the tenant's keys are being or were shredded;
	// ShreddedAt is when that was first asked.
	Shredded   bool
	ShreddedAt time.Time
}

// A Cursor is a position in the listing of data keys, ordered by tenant
// then object (byte order); the zero Cursor is the start.
type Cursor struct{ Tenant, Object string }

// MaxPage bounds the data keys [Store.ListDataKeys] returns at once.
const MaxPage = 1000

// Store keeps the data keys and the tenants' key-encryption keys. Every
// method is safe for concurrent use, also from several processes sharing
// one database (nodes).
type Store interface {
	// InsertDataKey stores k unless its object already has a data key,
	// and returns the stored row (k, or the one another writer stored
	// first) and whether k was stored. It fails with ErrNoTenantKEK if
	// the tenant has no registry entry, and with ErrTenantShredded if
	// the entry is marked shredded: a writer racing a tenant's shredding
	// either stores its key before the mark returns (and the deletion
	// that follows the mark removes it) or is refused.
	InsertDataKey(ctx context.Context, k DataKey) (DataKey, bool, error)
	// DataKey returns the data key of an object, or ErrNoKey.
	DataKey(ctx context.Context, tenant, object string) (DataKey, error)
	// DeleteDataKey deletes the data key of an object and reports
	// whether there was one.
	DeleteDataKey(ctx context.Context, tenant, object string) (bool, error)
	// DeleteTenantDataKeys deletes every data key of tenant and returns
	// how many it deleted.
	DeleteTenantDataKeys(ctx context.Context, tenant string) (int64, error)
	// ListDataKeys returns at most limit (1..MaxPage) data keys after
	// the cursor, in cursor order, of tenant ("" for every tenant).
	ListDataKeys(ctx context.Context, tenant string, after Cursor, limit int) ([]DataKey, error)
	// UpdateWrapped replaces the wrapped key and KEK version of old's
	// object if its stored Wrapped still equals old.Wrapped, else fails
	// with ErrConflict (changed, or deleted).
	UpdateWrapped(ctx context.Context, old DataKey, wrapped []byte, kekVersion int) error

	// TenantKEK returns the registry entry of tenant, or ErrNoTenantKEK.
	TenantKEK(ctx context.Context, tenant string) (TenantKEK, error)
	// InsertTenantKEK registers e unless the tenant has an entry, and
	// returns the stored entry (e, or the one there first, which may be
	// marked shredded) and whether e was stored.
	InsertTenantKEK(ctx context.Context, e TenantKEK) (TenantKEK, bool, error)
	// MarkTenantShredded marks tenant shredded as of at (an entry with
	// no KEK if it had none; the first time is kept) and returns the
	// entry.
	MarkTenantShredded(ctx context.Context, tenant string, at time.Time) (TenantKEK, error)
}

// MaxNameLen bounds a tenant or object name, in bytes.
const MaxNameLen = 1024

// CheckName reports whether s is a usable tenant or object name:
// 1..MaxNameLen bytes of UTF-8 without NUL (a value every driver stores
// as it is).
func CheckName(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("atrest: empty %s", what)
	case len(s) > MaxNameLen:
		return fmt.Errorf("atrest: %s longer than %d bytes", what, MaxNameLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("atrest: %s is not UTF-8", what)
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return fmt.Errorf("atrest: %s holds a NUL byte", what)
		}
	}
	return nil
}

// CheckPage reports whether limit is a valid page size.
func CheckPage(limit int) error {
	if limit < 1 || limit > MaxPage {
		return fmt.Errorf("atrest: page size %d outside 1..%d", limit, MaxPage)
	}
	return nil
}
