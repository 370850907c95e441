package tracking

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// A click's record in the journal (see ClickJournal):
//
//	version byte (1)
//	at        varint, Unix nanoseconds (UTC)
//	affiliate varint
//	program   varint
//	flags     byte: 1 bot, 2 unique
//	referral id, referrer, user agent, landing URL, IP, device:
//	          each uvarint length + bytes
const recordVersion = 1

const (
	flagBot    = 1
	flagUnique = 2
)

// appendRecord appends c's journal record to buf.
func appendRecord(buf []byte, c Click) []byte {
	buf = append(buf, recordVersion)
	buf = binary.AppendVarint(buf, c.At.UnixNano())
	buf = binary.AppendVarint(buf, c.AffiliateID)
	buf = binary.AppendVarint(buf, c.ProgramID)
	var flags byte
	if c.IsBot {
		flags |= flagBot
	}
	if c.IsUnique {
		flags |= flagUnique
	}
	buf = append(buf, flags)
	for _, s := range [...]string{c.ReferralID, c.Referrer, c.UserAgent, c.LandingURL, c.IP, c.Device} {
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	return buf
}

var errRecord = errors.New("click record malformed")

// parseRecord decodes a journal record.
func parseRecord(b []byte) (Click, error) {
	var c Click
	if len(b) == 0 || b[0] != recordVersion {
		return c, fmt.Errorf("%w: unknown version", errRecord)
	}
	b = b[1:]
	var ints [3]int64
	for i := range ints {
		v, n := binary.Varint(b)
		if n <= 0 {
			return c, fmt.Errorf("%w: bad number", errRecord)
		}
		ints[i], b = v, b[n:]
	}
	if len(b) == 0 || b[0]&^(flagBot|flagUnique) != 0 {
		return c, fmt.Errorf("%w: bad flags", errRecord)
	}
	flags := b[0]
	b = b[1:]
	c.At = time.Unix(0, ints[0]).UTC()
	c.AffiliateID, c.ProgramID = ints[1], ints[2]
	c.IsBot, c.IsUnique = flags&flagBot != 0, flags&flagUnique != 0
	for _, s := range [...]*string{&c.ReferralID, &c.Referrer, &c.UserAgent, &c.LandingURL, &c.IP, &c.Device} {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return c, fmt.Errorf("%w: bad text", errRecord)
		}
		*s, b = string(b[n:n+int(l)]), b[n+int(l):]
	}
	if len(b) != 0 {
		return c, fmt.Errorf("%w: %d bytes left over", errRecord, len(b))
	}
	return c, nil
}
