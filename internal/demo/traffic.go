package demo

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/program"
	"affiliated/internal/tracking"
)

// sampler draws an index with probability in proportion to its weight.
type sampler struct{ cum []float64 }

func newSampler(weights []float64) sampler {
	s := sampler{cum: make([]float64, len(weights))}
	total := 0.0
	for i, w := range weights {
		total += w
		s.cum[i] = total
	}
	return s
}

func (s sampler) draw(r *rand.Rand) int {
	x := s.cum[len(s.cum)-1] * (1 - r.Float64()) // in (0, total]: a zero weight is never drawn
	return sort.SearchFloat64s(s.cum, x)
}

// Traffic by hour of the day (UTC): the course's audience is in the
// Americas and Europe, the guesthouse's guests are in Italy.
var (
	courseHours = []float64{3, 2, 2, 2, 2, 3, 5, 7, 8, 8, 8, 8, 9, 10, 11, 12, 12, 11, 10, 9, 8, 6, 5, 4}
	villaHours  = []float64{1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 10, 9, 9, 9, 10, 10, 10, 9, 7, 5, 3, 2, 1}
)

// Where links lead: the home page, deep links, the blog on an allowed host.
var (
	coursePaths = []string{"", "courses/go-web", "workshops/testing", "pricing", "https://blog.shipit.example.com/free-chapter"}
	courseShare = []float64{40, 25, 15, 12, 8}
	villaPaths  = []string{"", "wine-tours", "rooms"}
	villaShare  = []float64{50, 35, 15}
)

// dayWeight weighs day d of the history: growth over the quarter,
// quieter weekends for the course and busier ones for the guesthouse, and
// the course's launch email on day 62.
func dayWeight(first time.Time, d int, vendor bool) float64 {
	v := 1 + 0.8*float64(d)/float64(Days-1)
	switch wd := first.AddDate(0, 0, d).Weekday(); {
	case vendor && (wd == time.Friday || wd == time.Saturday || wd == time.Sunday):
		v *= 1.5
	case !vendor && (wd == time.Saturday || wd == time.Sunday):
		v *= 0.7
	}
	if !vendor && d == 62 {
		v *= 3
	} else if !vendor && d == 63 {
		v *= 1.8
	}
	return v
}

// referred is a human click chosen to lead to a purchase.
type referred struct {
	refID   string
	p       *partner
	at      time.Time
	landing string // the deep path its link used
}

// landingRef stands for the referral id in a precomputed landing URL.
const landingRef = "RRRRRRRRRRRRRRRRRRRRRA"

// programTraffic is what clicks on one program's links look like.
type programTraffic struct {
	partners        sampler
	list            []*partner
	owner           map[int64]*partner // by affiliate id
	paths           []string
	pathShare       sampler
	agents          sampler
	landing         map[*partner][]string // per path, with landingRef for the id
	agentUA         []string
	agentBot        []bool
	agentDevice     []string
	vendor          bool
	visitorsByOwner map[*partner][]string // recent referral ids, for returning visitors
}

func (f *filler) traffic(p *program.Program, vendor bool) (*programTraffic, error) {
	t := &programTraffic{vendor: vendor, landing: map[*partner][]string{}, visitorsByOwner: map[*partner][]string{},
		owner: map[int64]*partner{}, paths: coursePaths, pathShare: newSampler(courseShare)}
	if vendor {
		t.paths, t.pathShare = villaPaths, newSampler(villaShare)
	}
	var weights []float64
	for _, pt := range f.partners {
		if pt.a.ProgramID != p.ID || pt.until == 0 {
			continue
		}
		t.list = append(t.list, pt)
		t.owner[pt.a.ID] = pt
		weights = append(weights, pt.weight)
		link := tracking.Link{Destination: p.DestinationURL, AllowedHosts: p.AllowedHosts, UTMSource: p.UTM.Source,
			UTMMedium: p.UTM.Medium, UTMCampaign: p.UTM.Campaign, Program: p.Slug, Code: pt.a.Code}
		for _, path := range t.paths {
			loc, err := tracking.Location(link, landingRef, path, nil)
			if err != nil {
				return nil, fmt.Errorf("demo: landing of %s %q: %w", pt.a.Code, path, err)
			}
			t.landing[pt] = append(t.landing[pt], loc)
		}
	}
	t.partners = newSampler(weights)
	var aw []float64
	for _, a := range userAgents {
		w := a.course
		if vendor {
			w = a.villa
		}
		aw = append(aw, float64(w))
		t.agentUA = append(t.agentUA, a.ua)
		t.agentBot = append(t.agentBot, tracking.IsBot(a.ua))
		t.agentDevice = append(t.agentDevice, string(tracking.DeviceOf(a.ua)))
	}
	t.agents = newSampler(aw)
	return t, nil
}

// referralID returns a referral id in the shape the redirect issues, its
// first 6 bytes the time in milliseconds and the rest drawn from r. The
// redirect's ids are all random; these sort by time, so that millions of
// them are appended to the referral index instead of landing all over it
// (which rewrote most of the index on every transaction).
func referralID(r *rand.Rand, at time.Time) string {
	var b [16]byte
	ms := uint64(at.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (8 * (5 - i)))
	}
	v, w := r.Uint64(), r.Uint64()
	for j := range 8 {
		b[6+j] = byte(v >> (8 * j))
	}
	b[14], b[15] = byte(w), byte(w>>8)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// clicks writes Options.Clicks clicks in time order (as production logs
// them; see bulk) and returns the clicks chosen to lead to a purchase.
func (f *filler) clicks(ctx context.Context) ([]referred, error) {
	now := f.opt.Now
	first := now.Truncate(24*time.Hour).AddDate(0, 0, -(Days - 1))
	course, err := f.traffic(f.course, false)
	if err != nil {
		return nil, err
	}
	villa, err := f.traffic(f.villa, true)
	if err != nil {
		return nil, err
	}
	// Each hour's expected share of the clicks, per program: 85% the
	// course's, 15% the guesthouse's, each by its day and hour weights.
	hours := Days * 24
	share := make([][2]float64, hours)
	var sums [2]float64
	for h := range hours {
		start := first.Add(time.Duration(h) * time.Hour)
		if !start.Before(now) {
			break
		}
		part := min(now.Sub(start), time.Hour).Hours() // the current hour has only begun
		share[h][0] = dayWeight(first, h/24, false) * courseHours[h%24] * part
		share[h][1] = dayWeight(first, h/24, true) * villaHours[h%24] * part
		sums[0] += share[h][0]
		sums[1] += share[h][1]
	}
	n := f.opt.Clicks
	// Which clicks buy: chosen up front so the stream of clicks need not be kept.
	buys := map[int]bool{}
	for want := min(referredOrders(f.opt.Orders), n); len(buys) < want; {
		buys[f.r.IntN(n)] = true
	}
	w := newBulk(f.d)
	var plan []referred
	owed, i, cum := 0, 0, 0.0
	for h := range hours {
		start := first.Add(time.Duration(h) * time.Hour)
		// Clicks in this hour: rounding the running total keeps the sum exact.
		from := int(cum*float64(n) + 0.5)
		cum += (share[h][0]/sums[0]*0.85 + share[h][1]/sums[1]*0.15)
		count := min(int(cum*float64(n)+0.5), n) - from
		if h == hours-1 || !start.Add(time.Hour).Before(now) {
			count = n - i // the last hour takes the rest
		}
		offsets := make([]time.Duration, count)
		span := min(now.Sub(start), time.Hour)
		for k := range offsets {
			offsets[k] = time.Duration(f.r.Int64N(int64(span)))
		}
		slices.Sort(offsets)
		for _, off := range offsets {
			t := course
			if f.r.Float64()*(share[h][0]/sums[0]*0.85+share[h][1]/sums[1]*0.15) < share[h][1]/sums[1]*0.15 {
				t = villa
			}
			c, path := t.click(f.r, db.Time(start.Add(off)), h/24)
			if buys[i] {
				owed++
			}
			if owed > 0 && !c.IsBot && t.owner[c.AffiliateID].until == Days {
				plan = append(plan, referred{refID: c.ReferralID, p: t.owner[c.AffiliateID], at: c.At, landing: t.paths[path]})
				owed--
			}
			if err := w.add(ctx, c); err != nil {
				return nil, err
			}
			if i++; i%max(n/10, 1) == 0 {
				f.opt.Log.Info("demo: clicks", "done", i, "of", n)
			}
		}
		if i >= n {
			break
		}
	}
	if err := w.close(ctx); err != nil {
		return nil, err
	}
	f.sum.Clicks = i
	return plan, nil
}

// click makes one click at `at`, on day d of the history, and returns it
// with the index of the path its link led to.
func (t *programTraffic) click(r *rand.Rand, at time.Time, d int) (tracking.Click, int) {
	p := t.list[t.partners.draw(r)]
	for tries := 0; p.until <= d && tries < 20; tries++ {
		p = t.list[t.partners.draw(r)] // a suspended partner brings no more visitors
	}
	c := tracking.Click{AffiliateID: p.a.ID, ProgramID: p.a.ProgramID, At: at}
	agent := t.agents.draw(r)
	c.UserAgent, c.IsBot, c.Device = t.agentUA[agent], t.agentBot[agent], t.agentDevice[agent]
	seen := t.visitorsByOwner[p]
	if !c.IsBot && len(seen) > 0 && r.IntN(100) < 22 {
		c.ReferralID = seen[r.IntN(len(seen))] // a returning visitor
	} else {
		c.ReferralID, c.IsUnique = referralID(r, at), true
		switch {
		case c.IsBot:
		case len(seen) < 64:
			t.visitorsByOwner[p] = append(seen, c.ReferralID)
		default:
			seen[r.IntN(len(seen))] = c.ReferralID
		}
	}
	c.Referrer = p.sources[r.IntN(len(p.sources))]
	path := t.pathShare.draw(r)
	c.LandingURL = strings.Replace(t.landing[p][path], landingRef, c.ReferralID, 1)
	c.IP = strconv.Itoa(20+r.IntN(200)) + "." + strconv.Itoa(r.IntN(256)) + "." + strconv.Itoa(r.IntN(256)) + ".0"
	return c, path
}
