'use strict';
'require baseclass';
'require rpc';

/*
 * Status -> Overview: the state of every CARP group, from `ubus call carp
 * status`, as luci-app-keepalived's 35_keepalived.js shows its instances.
 * The overview page finds this file by its place (view/status/include/),
 * and calls load() and render() again every few seconds. The full table is
 * Status -> CARP (view/carp/status.js).
 */

var callStatus = rpc.declare({
	object: 'carp',
	method: 'status',
	expect: { '': {} }
});

var STATE_COLOURS = { MASTER: '#2e7d32', BACKUP: '#1565c0', INIT: '#b26a00' };

return baseclass.extend({
	title: _('CARP failover'),

	load: function() {
		return L.resolveDefault(callStatus(), {});
	},

	render: function(doc) {
		if (!doc || !Array.isArray(doc.vhids))
			return E('p', { 'class': 'cbi-section-descr', 'id': 'carp-overview' },
				(doc && doc.error) ? doc.error : _('No answer from ubus call carp status.'));

		var rows = doc.vhids.map(function(v) {
			return E('tr', { 'class': 'tr', 'data-vhid': v.name }, [
				E('td', { 'class': 'td', 'data-title': _('Group') }, v.name + ' (' + v.device + ')'),
				E('td', { 'class': 'td', 'data-title': _('VHID') }, String(v.vhid)),
				E('td', { 'class': 'td', 'data-title': _('State') }, E('span', {
					'style': 'font-weight:bold;color:' + (STATE_COLOURS[v.state] || 'inherit')
				}, v.state)),
				E('td', { 'class': 'td', 'data-title': _('Master') }, v.master || '-'),
				E('td', { 'class': 'td', 'data-title': _('Addresses') }, (v.addresses || []).join(' '))
			]);
		});
		if (!rows.length)
			rows.push(E('tr', { 'class': 'tr placeholder' }, E('td', { 'class': 'td', 'colspan': '5' },
				E('em', {}, _('No CARP groups are running.')))));

		return E('table', { 'class': 'table', 'id': 'carp-overview' }, [
			E('tr', { 'class': 'tr table-titles' }, [
				E('th', { 'class': 'th' }, _('Group')),
				E('th', { 'class': 'th' }, _('VHID')),
				E('th', { 'class': 'th' }, _('State')),
				E('th', { 'class': 'th' }, _('Master')),
				E('th', { 'class': 'th' }, _('Addresses'))
			])
		].concat(rows));
	}
});
