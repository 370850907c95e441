package public_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"affiliated/internal/db"
	"affiliated/internal/db/dbtest"
	"affiliated/internal/payments"
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
			inv, pi, ch := "in_basil"+n, "pi_basil"+n, "ch_basil"+n
			bodies := map[string][]byte{
				"sale": []byte(fmt.Sprintf(`{"id":"evt_cs%[1]s","object":"event","api_version":"2025-03-31.basil","created":%[2]d,
					"livemode":false,"type":"checkout.session.completed","data":{"object":{"id":"cs_test_%[1]s",
					"object":"checkout.session","mode":"subscription","status":"complete","payment_status":"paid",
					"payment_intent":null,"invoice":"%[3]s","subscription":"sub_basil%[1]s","currency":"usd",
					"amount_subtotal":10000,"amount_total":12000,"total_details":{"amount_discount":0,"amount_tax":2000},
					"client_reference_id":"ann","metadata":{},"customer":"cus_basil",
					"customer_details":{"email":"buyer%[1]s@example.com"}}}}`, n, at.Unix(), inv)),
				"link": []byte(fmt.Sprintf(`{"id":"evt_ip%[1]s","object":"event","api_version":"2025-03-31.basil","created":%[2]d,
					"livemode":false,"type":"invoice_payment.paid","data":{"object":{"id":"inpay_%[1]s","object":"invoice_payment",
					"amount_paid":12000,"amount_requested":12000,"currency":"usd","invoice":"%[3]s","is_default":true,
					"payment":{"type":"payment_intent","payment_intent":"%[4]s","charge":"%[5]s"},"status":"paid"}}}`,
					n, at.Unix(), inv, pi, ch)),
				"refund": []byte(fmt.Sprintf(`{"id":"evt_re%[1]s","object":"event","api_version":"2025-03-31.basil","created":%[2]d,
					"livemode":false,"type":"charge.refunded","data":{"object":{"id":"%[4]s","object":"charge","amount":12000,
					"amount_refunded":3000,"refunded":false,"currency":"usd","payment_intent":"%[3]s","metadata":{},
					"billing_details":{"email":"buyer%[1]s@example.com"}}}}`, n, at.Add(time.Hour).Unix(), pi, ch)),
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
				if x.OrderRef == pi || x.OrderRef == ch {
					t.Errorf("%v: an order %s (id %d) is left beside %s", order, x.OrderRef, x.ID, inv)
				}
			}
		}
	})
}
