'use strict';
'require view';
'require rpc';
'require poll';
'require dom';

/*
 * Status -> CARP: one row per vhid from `ubus call carp status`, the
 * status document carpd keeps (firmware/carp/status.py), refreshed every
 * few seconds. When carpd is not running the rpcd plugin answers
 * {"error": ..., "status_file": ..., "running": false}, shown as it is,
 * with what `ubus call carp check` (carpd --check) finds wrong in
 * /etc/config/carp: the reasons the init script refuses to start it.
 */

var POLL_SECONDS = 3;

var callStatus = rpc.declare({
	object: 'carp',
	method: 'status',
	expect: { '': {} }
});

var callCheck = rpc.declare({
	object: 'carp',
	method: 'check',
	expect: { '': {} }
});

/* carpd --check starts an interpreter on the router: while the page polls
 * a stopped carpd, ask again only this often. */
var CHECK_SECONDS = 30;
var lastCheck = null, lastCheckAt = 0;

/* The status; when carpd is not running, with the check of its file. */
function fetchStatus() {
	return callStatus().then(function(doc) {
		if (!doc || doc.running !== false)
			return doc;
		if (lastCheck && Date.now() - lastCheckAt < CHECK_SECONDS * 1000) {
			doc.check = lastCheck;
			return doc;
		}
		return callCheck().then(function(check) {
			lastCheck = check;
			lastCheckAt = Date.now();
			doc.check = check;
			return doc;
		}, function() {
			return doc;
		});
	});
}

/* carpd --check's errors, one per line: carp.<section>.<option>: ... */
function renderCheck(check) {
	if (!check || check.valid !== false)
		return '';
	return E('div', { 'id': 'carp-check' }, [
		E('p', {}, _('carpd refuses /etc/config/carp:')),
		E('ul', {}, (check.errors || []).map(function(line) { return E('li', {}, line); }))
	]);
}

var STATE_COLOURS = { MASTER: '#2e7d32', BACKUP: '#1565c0', INIT: '#b26a00' };

function pad(n) {
	return (n < 10 ? '0' : '') + n;
}

/* Seconds since the epoch -> 'YYYY-MM-DD HH:MM:SS' in the browser's time zone. */
function clock(seconds) {
	var t = new Date(seconds * 1000);
	return t.getFullYear() + '-' + pad(t.getMonth() + 1) + '-' + pad(t.getDate()) + ' ' +
		pad(t.getHours()) + ':' + pad(t.getMinutes()) + ':' + pad(t.getSeconds());
}

/* 3725 -> '1h 2m 5s'. */
function duration(seconds) {
	var s = Math.max(0, Math.floor(seconds)), parts = [];
	if (s >= 86400) { parts.push(Math.floor(s / 86400) + 'd'); s %= 86400; }
	if (s >= 3600 || parts.length) { parts.push(Math.floor(s / 3600) + 'h'); s %= 3600; }
	if (s >= 60 || parts.length) { parts.push(Math.floor(s / 60) + 'm'); s %= 60; }
	parts.push(s + 's');
	return parts.slice(0, 2).join(' ');
}

/* {reason: count} -> 'reason count, ...' (sorted), or '0'. */
function drops(counts) {
	var names = Object.keys(counts || {}).sort();
	if (!names.length)
		return '0';
	return names.map(function(name) { return name + ' ' + counts[name]; }).join(', ');
}

function timing(advbase, advskew, demote) {
	return advbase + ' / ' + advskew + (demote ? ' (' + _('demote') + ' ' + demote + ')' : '');
}

function stateBadge(v) {
	return E('span', {
		'class': 'carp-state',
		'style': 'font-weight:bold;color:' + (STATE_COLOURS[v.state] || 'inherit')
	}, v.state);
}

function vhidRow(v, updated) {
	var seen = v.seen ? timing(v.seen.advbase, v.seen.advskew, v.seen.demote) : '-';
	return E('tr', { 'class': 'tr', 'data-vhid': v.name }, [
		E('td', { 'class': 'td', 'data-title': _('Group') }, [ E('strong', {}, v.name), E('br'), v.device ]),
		E('td', { 'class': 'td', 'data-title': _('VHID') }, String(v.vhid)),
		E('td', { 'class': 'td', 'data-title': _('State') }, [
			stateBadge(v), E('br'), E('small', {}, _('was') + ' ' + v.previous)
		]),
		E('td', { 'class': 'td', 'data-title': _('Since') }, [
			clock(v.since), E('br'), E('small', {}, duration(updated - v.since))
		]),
		E('td', { 'class': 'td', 'data-title': _('Master') }, v.master || '-'),
		E('td', { 'class': 'td', 'data-title': _('Addresses') }, (v.addresses || []).join(' ')),
		E('td', { 'class': 'td', 'data-title': _('Ours / seen') }, [
			timing(v.advbase, v.advskew, v.demote), E('br'), E('small', {}, seen)
		]),
		E('td', { 'class': 'td', 'data-title': _('RX / TX') }, v.rx + ' / ' + v.tx +
			(v.tx_errors ? ' (' + v.tx_errors + ' ' + _('errors') + ')' : '')),
		E('td', { 'class': 'td', 'data-title': _('Drops') }, drops(v.drops)),
		E('td', { 'class': 'td', 'data-title': _('Reason') }, [
			v.reason, E('br'), E('small', {}, _('transitions') + ': ' + v.transitions),
			(v.demotion_reasons && v.demotion_reasons.length)
				? [ E('br'), E('small', {}, _('demoted by') + ': ' + v.demotion_reasons.join(', ')) ] : ''
		])
	]);
}

/* What the router watches (tracking): 'carrier lan0 up, ping 192.0.2.1 lost (why)'. */
function trackers(list) {
	return list.map(function(t) {
		return t.what + ' ' + (t.failed ? _('failed') + ' (' + t.why + ')' : _('good'));
	}).join(', ');
}

function renderStatus(doc) {
	if (!doc || doc.error || !Array.isArray(doc.vhids)) {
		return E('div', { 'class': 'alert-message warning' }, [
			E('p', {}, (doc && doc.error) ? doc.error : _('No answer from ubus call carp status.')),
			(doc && doc.status_file) ? E('p', {}, _('Status file') + ': ' + doc.status_file) : '',
			renderCheck(doc && doc.check)
		]);
	}

	var rows = doc.vhids.map(function(v) { return vhidRow(v, doc.updated); });
	if (!rows.length)
		rows.push(E('tr', { 'class': 'tr placeholder' }, E('td', { 'class': 'td', 'colspan': '10' },
			E('em', {}, _('No CARP groups are running.')))));

	var hooks = doc.hooks ? (_('hook events') + ': ' + doc.hooks.sent + ' ' + _('sent') + ', ' +
		doc.hooks.dropped + ' ' + _('dropped')) : '';

	return E('div', {}, [
		E('table', { 'class': 'table', 'id': 'carp-vhids' }, [
			E('tr', { 'class': 'tr table-titles' }, [
				E('th', { 'class': 'th' }, _('Group')),
				E('th', { 'class': 'th' }, _('VHID')),
				E('th', { 'class': 'th' }, _('State')),
				E('th', { 'class': 'th' }, _('Since')),
				E('th', { 'class': 'th' }, _('Master')),
				E('th', { 'class': 'th' }, _('Addresses')),
				E('th', { 'class': 'th' }, _('Ours / seen')),
				E('th', { 'class': 'th' }, _('RX / TX')),
				E('th', { 'class': 'th' }, _('Drops')),
				E('th', { 'class': 'th' }, _('Reason'))
			])
		].concat(rows)),
		(doc.trackers && doc.trackers.length)
			? E('p', { 'class': 'cbi-section-descr', 'id': 'carp-trackers' }, _('Tracked') + ': ' + trackers(doc.trackers))
			: '',
		E('p', { 'class': 'cbi-section-descr', 'id': 'carp-daemon' }, [
			'carpd ' + doc.version + ' · ' + _('updated') + ' ' + clock(doc.updated) +
			' · ' + _('dropped by the daemon') + ': ' + drops(doc.drops) + (hooks ? ' · ' + hooks : '')
		])
	]);
}

return view.extend({
	load: function() {
		return fetchStatus().catch(function(err) { return { error: String(err) }; });
	},

	render: function(doc) {
		var body = E('div', { 'class': 'cbi-section', 'id': 'carp-status' }, renderStatus(doc));

		poll.add(function() {
			return fetchStatus().then(function(next) {
				dom.content(body, renderStatus(next));
			}).catch(function(err) {
				dom.content(body, renderStatus({ error: String(err) }));
			});
		}, POLL_SECONDS);

		return E('div', { 'class': 'cbi-map' }, [
			E('h2', {}, _('CARP failover')),
			E('div', { 'class': 'cbi-map-descr' },
				_('The state of every CARP group on this router, refreshed every few seconds. Advertising timing is advbase / advskew; the second line is the master\'s as last heard.')),
			body
		]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
