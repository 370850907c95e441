package public_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/payments"
	"affiliated/internal/payments/paymentstest"
	"affiliated/internal/server/servertest"
)

// From Stripe API version 2025-03-31 ("basil"), a subscription's checkout
// session and invoices name the payment by its invoice, and its refunds by
// the payment intent and charge; only invoice_payment.paid ties the two.
// Whatever order the three arrive in, the refund lands on the invoice's
// order and takes back its share of the commission, and no other order is
// left behind.
func TestStripeBasilRefundFindsSubscriptionSale(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		app := servertest.Start(t, d, hookFlags()...)
		prog := hookProgram(t, app, "course", 30)
		ann := hookAffiliate(t, app, prog, "ann", "")
		at := time.Now().UTC().Truncate(time.Second)
		for i, order := range [][]string{
			{"sale", "link", "refund"},
			{"refund", "sale", "link"},
			{"link", "refund", "sale"},
			{"refund", "link", "sale"},
		} {
			n := fmt.Sprintf("%02d", i)
			inv, pi := "in_basil"+n, "pi_basil"+n
			s := paymentstest.Sale{OrderID: pi, Invoice: inv, SubscriptionID: "sub_basil" + n,
				Email: "buyer" + n + "@example.com", ProductName: "Course", Amount: 12000, Tax: 2000, Referral: "ann", At: at}
			bodies := map[string][]byte{
				"sale":   paymentstest.StripeSale(s),
				"link":   paymentstest.StripeInvoicePayment(s),
				"refund": paymentstest.StripeRefund(s, paymentstest.Refund{Amount: 3000, At: at.Add(time.Hour)}),
			}
			for _, ev := range order {
				mustDeliver(t, app, payments.Stripe, bodies[ev], "applied")
			}
			o := orderByRef(t, app, payments.Stripe, inv)
			// Net 10000; 3000 of 12000 gross refunded takes back 2500 of it.
			if !o.HasSale || o.RefundedGross != 3000 || o.RefundedNet != 2500 || len(o.Refunds) != 1 || len(o.Events) != 3 {
				t.Errorf("%v: order %s has_sale %v refunded %d/%d, %d refunds, %d events; want the sale, 3000/2500, 1, 3",
					order, inv, o.HasSale, o.RefundedGross, o.RefundedNet, len(o.Refunds), len(o.Events))
			}
			if c := o.Commission; c == nil || c.AffiliateID != ann.ID || c.Amount != 3750 {
				t.Errorf("%v: commission %+v, want 3750 (half of 10000 − 2500) for ann", order, c)
			}
			for _, x := range allOrders(t, app, url.Values{"platform": {payments.Stripe}}) {
				if x.OrderRef != inv && strings.HasSuffix(x.OrderRef, "basil"+n) {
					t.Errorf("%v: an order %s (id %d) is left beside %s", order, x.OrderRef, x.ID, inv)
				}
			}
		}
	})
}
