/* affiliated t.js: referral id -> first-party cookie -> checkouts */
(function (w, d) {
'use strict';
var ID = /^[\w-]{21}[AQgw]$/, api = {referral: ''}, s, name, days, last, dom, done;
function ok(v) { return typeof v == 'string' && ID.test(v); }

// First touch keeps a stored id. The same id is not written again: Safari
// caps cookies set by script at 7 days, not those our server set.
function adopt(id, ds, lt) {
	if (!ok(id) || id == api.referral || api.referral && !lt) return;
	api.referral = id;
	d.cookie = name + '=' + id + '; Max-Age=' + Math.round(ds * 86400) + '; Path=/; SameSite=Lax' +
		(dom ? '; Domain=' + dom : '') + (location.protocol == 'https:' ? '; Secure' : '');
}

// Idempotent: runs on every DOM change. root: a document or an element.
function decorate(root) {
	var id = api.referral, l, i, a, u, p, k, v;
	if (!id || !root.querySelectorAll) return;
	l = root.querySelectorAll('a[href]');
	for (i = 0; i < l.length; i++) try {
		a = l[i]; u = new URL(a.href); p = u.hostname + u.pathname;
		k = /^([\w-]+\.)*lemonsqueezy\.com\/(checkout|buy)\//.test(p) ? 'checkout[custom][referral]' :
			/^buy\.stripe\.com\//.test(p) ? 'client_reference_id' :
			/^([\w-]+\.)*gumroad\.com\/l\//.test(p) ? 'referral' : '';
		v = k && u.searchParams.get(k);
		if (!k || v == id || v && !ok(v)) continue; // a value not ours is the merchant's
		u.searchParams.set(k, id);
		a.href = u.href;
	} catch (e) {}
}

function paddle() {
	var C = w.Paddle && w.Paddle.Checkout, open = C && C.open;
	if (typeof open != 'function' || open.aff) return;
	C.open = function (o) {
		try {
			var id = api.referral, c, p;
			if (id && o && typeof o == 'object') {
				c = o.customData;
				if (!c || typeof c == 'object') (o.customData = c = c || {}).referral = c.referral || id;
				if (o.product) { // Paddle Classic
					p = o.passthrough;
					if (!p) o.passthrough = JSON.stringify({referral: id});
					else if (p[0] == '{') { p = JSON.parse(p); p.referral = p.referral || id; o.passthrough = JSON.stringify(p); }
				}
			}
		} catch (e) {}
		return open.apply(this, arguments);
	};
	C.open.aff = 1;
}

function run(root) { try { decorate(root || d); paddle(); } catch (e) {} }
function finish() { run(); done(api.referral); }

try {
	s = d.currentScript || {};
	var at = function (n) { return s.getAttribute && s.getAttribute('data-' + n) || ''; },
		q = new URLSearchParams(location.search), ref = q.get('ref'), via = q.get('via'),
		m = d.cookie.match(new RegExp('(?:^|; )' + (name = /^[\w-]+$/.test(at('cookie')) ? at('cookie') : 'aff_ref') + '=([^;]*)'));
	days = +at('cookie-days') || 30;
	last = at('attribution') == 'last';
	dom = /^[\w.-]+$/.test(at('domain')) ? at('domain') : '';
	api.referral = m && ok(m[1]) ? m[1] : '';
	api.ready = new Promise(function (r) { done = r; });
	api.decorate = run;
	api.checkoutData = function () { return api.referral ? {referral: api.referral} : {}; };
	w.affiliated = api;

	if (ok(ref)) { adopt(ref, days, last); finish(); }
	else if (via && s.src) {
		// A string body goes as text/plain: a CORS simple request, no preflight.
		fetch(new URL(s.src).origin + '/t/click', {method: 'POST', credentials: 'omit',
			body: JSON.stringify({code: via, landing: location.href, referrer: d.referrer, referral: api.referral})})
		.then(function (r) { return r.json(); })
		.then(function (j) { adopt(j.referral, +j.cookie_days || days, j.attribution ? j.attribution == 'last' : last); })
		.then(finish, finish);
	} else finish();

	// A record's target is a changed link or the parent of added nodes.
	new MutationObserver(function (rs) { for (var i = 0; i < rs.length; i++) run(rs[i].target.parentNode); })
		.observe(d.documentElement, {childList: true, subtree: true, attributes: true, attributeFilter: ['href']});
	// Paddle.js may load after us: wrap it before a click can open a checkout.
	d.addEventListener('click', function () { run(); }, true);
	w.addEventListener('load', function () { run(); });
} catch (e) {}
})(window, document);
