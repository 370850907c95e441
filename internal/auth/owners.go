package auth

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"affiliated/internal/apperr"
	"affiliated/internal/audit"
	"affiliated/internal/db"
)

// Owner is a person who runs the console.
type Owner struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

// Owners manages owner accounts and the first owner's setup link.
type Owners struct {
	DB    *db.DB
	Audit *audit.Log
	Now   func() time.Time // time.Now when nil
}

// SetupTTL is how long a first-start setup link is valid.
const SetupTTL = 24 * time.Hour

func (o *Owners) now() time.Time {
	if o.Now != nil {
		return db.Time(o.Now())
	}
	return db.Now()
}

// Add creates an owner.
func (o *Owners) Add(ctx context.Context, email string) (*Owner, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	ow := &Owner{Email: email, CreatedAt: o.now()}
	err = o.DB.TX(ctx, func(ctx context.Context) error {
		err := o.DB.Q(ctx).QueryRowContext(ctx, `/* auth.Owners.Add */
			insert into owners (email, created_at) values ($1, $2) returning id`, ow.Email, ow.CreatedAt).Scan(&ow.ID)
		if db.IsUnique(err) {
			return apperr.Conflict("duplicate", "email", "%s is already an owner", email)
		}
		if err != nil {
			return err
		}
		return o.Audit.Record(ctx, "owner.create", "owner", ow.ID, map[string]string{"email": email})
	})
	if err != nil {
		return nil, err
	}
	return ow, nil
}

func (o *Owners) one(ctx context.Context, where string, arg any) (*Owner, error) {
	var ow Owner
	err := o.DB.R(ctx).QueryRowContext(ctx, `/* auth.Owners.one */ select id, email, created_at from owners where `+where, arg).
		Scan(&ow.ID, &ow.Email, &ow.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.NotFound("owner")
	}
	if err != nil {
		return nil, err
	}
	ow.CreatedAt = ow.CreatedAt.UTC()
	return &ow, nil
}

// Owner returns the owner with id.
func (o *Owners) Owner(ctx context.Context, id int64) (*Owner, error) {
	return o.one(ctx, "id = $1", id)
}

// ByEmail returns the owner whose email is email (any case).
func (o *Owners) ByEmail(ctx context.Context, email string) (*Owner, error) {
	return o.one(ctx, "lower(email) = lower($1)", email)
}

// List returns every owner.
func (o *Owners) List(ctx context.Context) ([]Owner, error) {
	rows, err := o.DB.R(ctx).QueryContext(ctx, `/* auth.Owners.List */ select id, email, created_at from owners order by id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Owner
	for rows.Next() {
		var ow Owner
		if err := rows.Scan(&ow.ID, &ow.Email, &ow.CreatedAt); err != nil {
			return nil, err
		}
		ow.CreatedAt = ow.CreatedAt.UTC()
		out = append(out, ow)
	}
	return out, rows.Err()
}

// Count returns how many owners there are.
func (o *Owners) Count(ctx context.Context) (int, error) {
	var n int
	err := o.DB.R(ctx).QueryRowContext(ctx, `/* auth.Owners.Count */ select count(*) from owners`).Scan(&n)
	return n, err
}

// Lookup is the LookupFunc part for owners.
func (o *Owners) Lookup(ctx context.Context, email string) (int64, bool, error) {
	ow, err := o.ByEmail(ctx, email)
	if apperr.Is(err, apperr.KindNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return ow.ID, true, nil
}

// ErrSetupDone is returned once an owner exists: setup links are dead.
var ErrSetupDone = &apperr.Error{Kind: apperr.KindNotFound, Code: "setup_done",
	Message: "This setup link has expired or an owner already exists. Sign in instead, or run `affiliated admin add EMAIL`."}

// NewSetupToken returns a one-time token that makes its holder the first
// owner, valid for SetupTTL, or ("", nil) when an owner already exists.
// serve prints the link at start; every start prints a new one and the
// older ones stay valid until they expire or an owner exists.
func (o *Owners) NewSetupToken(ctx context.Context) (string, error) {
	n, err := o.Count(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	token := RandomSecret(20)
	now := o.now()
	_, err = o.DB.Q(ctx).ExecContext(ctx, `/* auth.Owners.NewSetupToken */
		insert into signin_codes (kind, email, code_hash, link_hash, created_at, expires_at) values ($1, '', '', $2, $3, $4)`,
		string(kindSetup), Hash(token), now, now.Add(SetupTTL))
	if err != nil {
		return "", err
	}
	return token, nil
}

// CheckSetup reports whether token is a live setup token while no owner exists.
func (o *Owners) CheckSetup(ctx context.Context, token string) error {
	_, err := o.setupRow(ctx, token)
	return err
}

func (o *Owners) setupRow(ctx context.Context, token string) (int64, error) {
	if token == "" || len(token) > 200 {
		return 0, ErrSetupDone
	}
	var id int64
	err := o.DB.Q(ctx).QueryRowContext(ctx, `/* auth.Owners.setupRow */
		select id from signin_codes where link_hash = $1 and kind = $2 and used_at is null and expires_at > $3
		and not exists (select 1 from owners)`, Hash(token), string(kindSetup), o.now()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrSetupDone
	}
	return id, err
}

// ClaimSetup uses a setup token to create the first owner with email. Two
// claims at once cannot both succeed: the token is used in the same
// transaction, and the owner is created only while there is none.
func (o *Owners) ClaimSetup(ctx context.Context, token, email string) (*Owner, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	var ow *Owner
	err = o.DB.TX(ctx, func(ctx context.Context) error {
		id, err := o.setupRow(ctx, token)
		if err != nil {
			return err
		}
		res, err := o.DB.Q(ctx).ExecContext(ctx, `/* auth.Owners.ClaimSetup */
			update signin_codes set used_at = $1, email = $2 where id = $3 and used_at is null`, o.now(), email, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrSetupDone
		}
		ctx = audit.WithActor(ctx, "setup:"+email)
		ow, err = o.Add(ctx, email)
		if err != nil {
			return err
		}
		// Another replica's setup link may have raced this one.
		if n, err := o.Count(ctx); err != nil || n != 1 {
			if err == nil {
				err = ErrSetupDone
			}
			return err
		}
		return nil
	})
	return ow, err
}
