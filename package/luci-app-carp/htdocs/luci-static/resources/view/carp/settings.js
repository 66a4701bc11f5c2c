'use strict';
'require view';
'require form';
'require uci';
'require tools.widgets as widgets';

/*
 * Services -> CARP: /etc/config/carp, the globals section and one row per
 * vhid section.
 *
 * Every option here is one that carpd accepts, with the same datatype,
 * range and default. The daemon's own table is SCHEMA in
 * firmware/carp/uciconfig.py, and tests/luci checks this page against it
 * both ways. Where LuCI's datatypes accept more than the daemon does
 * (multicast, loopback or 0.0.0.0 addresses, IPv4 octets with leading
 * zeros, other status file paths), a validate function adds the daemon's
 * rule, and so do the rules across values (each address once, vhid once
 * per device, an interface or a device), so Save stops where carpd would
 * refuse the file.
 *
 * LuCI runs validate(section_id, value) after the datatype, with the value
 * as the datatype left it: cidr and ip4addr/ip6addr with a /prefix hand on
 * the prefix alone ('24'), so the virtual addresses have no datatype and
 * checkAddress() does it all. A DynamicList's validate() is called for each
 * item typed and, with '', for the list as a whole whenever it changes:
 * that is where the rules over the whole list are.
 */

/* The spellings of a boolean that carpd (and config_get_bool) take. */
var TRUE_WORDS = [ '1', 'yes', 'on', 'true', 'enabled' ];
var FALSE_WORDS = [ '0', 'no', 'off', 'false', 'disabled' ];

/* 'a.b.c.d' -> [a, b, c, d], or null. inet_pton's rules: decimal octets
 * 0..255 and no leading zeros, which LuCI's ip4addr would let through. */
function parseIPv4(text) {
	var parts = text.split('.');
	if (parts.length != 4)
		return null;
	for (var i = 0; i < 4; i++) {
		if (!/^(0|[1-9][0-9]{0,2})$/.test(parts[i]) || +parts[i] > 255)
			return null;
		parts[i] = +parts[i];
	}
	return parts;
}

/* An IPv6 address -> its eight 16-bit words, or null (inet_pton's rules). */
function parseIPv6(text) {
	var halves = text.split('::');
	if (halves.length > 2)
		return null;

	function words(part, lastMayBeIPv4) {
		var out = [];
		if (part === '')
			return out;
		var items = part.split(':');
		for (var i = 0; i < items.length; i++) {
			if (lastMayBeIPv4 && i == items.length - 1 && items[i].indexOf('.') >= 0) {
				var v4 = parseIPv4(items[i]);
				if (!v4)
					return null;
				out.push(v4[0] * 256 + v4[1], v4[2] * 256 + v4[3]);
			}
			else if (/^[0-9a-fA-F]{1,4}$/.test(items[i])) {
				out.push(parseInt(items[i], 16));
			}
			else {
				return null;
			}
		}
		return out;
	}

	var head = words(halves[0], halves.length == 1);
	var tail = (halves.length == 2) ? words(halves[1], true) : [];
	if (!head || !tail)
		return null;
	if (halves.length == 1)
		return (head.length == 8) ? head : null;
	if (head.length + tail.length > 7)
		return null;
	while (head.length + tail.length < 8)
		head.push(0);
	return head.concat(tail);
}

/* 127.0.0.0/8, ::1 and 127/8 mapped into IPv6, as carpd refuses them. */
function isLoopback(v4, v6) {
	if (v4)
		return v4[0] == 127;
	if (v6.slice(0, 5).join(':') != '0:0:0:0:0')
		return false;
	if (v6[5] == 0xffff)
		return (v6[6] >> 8) == 127;
	return v6[5] == 0 && v6[6] == 0 && v6[7] == 1;
}

/* Why an address is not one carpd takes, or true. withPrefix: an optional
 * /prefix may follow (a virtual address); family 4: IPv4 only, and any
 * IPv4 address (the advertisement source). */
function checkAddress(value, withPrefix, family) {
	var text = value, prefix = null;
	if (withPrefix && value.indexOf('/') >= 0) {
		text = value.substring(0, value.indexOf('/'));
		prefix = value.substring(value.indexOf('/') + 1);
	}
	var v4 = parseIPv4(text);
	var v6 = (family == 4 || v4) ? null : parseIPv6(text);
	if (family == 4 && !v4)
		return _('An IPv4 address, four decimal numbers 0..255 without leading zeros');
	if (!v4 && !v6)
		return _('An IPv4 or IPv6 address (IPv4: four decimal numbers 0..255 without leading zeros)');
	if (isLoopback(v4, v6))
		return _('Not a loopback address (127.0.0.0/8, ::1)');
	if (family == 4)
		return true;
	/* LuCI's cidr4/cidr6 rule, which carpd keeps: at most 2 or 3 digits. */
	if (prefix !== null && !((v4 ? /^[0-9]{1,2}$/ : /^[0-9]{1,3}$/).test(prefix) && +prefix <= (v4 ? 32 : 128)))
		return _('A prefix length: /0..32 for IPv4, /0..128 for IPv6');
	if (v4 && (v4[0] >= 224 || v4.join('.') == '0.0.0.0'))
		return _('A unicast IPv4 address (not multicast, not 0.0.0.0)');
	if (v6 && (v6[0] >= 0xff00 || v6.join(':') == '0:0:0:0:0:0:0:0'))
		return _('A unicast IPv6 address (not multicast, not ::)');
	return true;
}

/* An option's validate(): empty is fine (the option is unset), else checkAddress. */
function optionalAddress(withPrefix, family) {
	return function(section_id, value) {
		return (value === '') ? true : checkAddress(value, withPrefix, family);
	};
}

function listOf(value) {
	if (value == null || value === '')
		return [];
	return Array.isArray(value) ? value : [ value ];
}

/* One key per address, whatever its spelling or /prefix: '192.168.1.253/24'
 * and '192.168.1.253' are the same address to carpd. null: no address. */
function addressKey(text) {
	var host = (text.indexOf('/') >= 0) ? text.substring(0, text.indexOf('/')) : text;
	var v4 = parseIPv4(host);
	if (v4)
		return '4:' + v4.join('.');
	var v6 = parseIPv6(host);
	return v6 ? '6:' + v6.join(':') : null;
}

/* An option of a vhid section as the form holds it now: the field's value
 * while it is shown, else the configuration (with changes not yet saved).
 * section: the option's own (this.section in validate()), which in the edit
 * dialog is the dialog's copy of the grid, holding the fields being edited. */
function current(section, section_id, option) {
	var value = section.formvalue(section_id, option);
	return (value != null) ? value : uci.get('carp', section_id, option);
}

/* carpd checks addresses and vhids across enabled groups only. */
function groupEnabled(section, section_id) {
	var value = current(section, section_id, 'enabled');
	return FALSE_WORDS.indexOf(value == null ? '1' : String(value)) < 0;
}

function otherGroups(section, section_id) {
	return uci.sections('carp', 'vhid').map(function(s) { return s['.name']; }).filter(function(sid) {
		return sid != section_id && groupEnabled(section, sid);
	});
}

/* The items of a list option, with an item being typed (value) among them. */
function itemsWith(section, section_id, option, value) {
	var items = listOf(current(section, section_id, option));
	return (value === '' || items.indexOf(value) >= 0) ? items : items.concat([ value ]);
}

/* carpd's rules across the virtual addresses: each once in a group, and in
 * one enabled group only. */
function addressesProblem(section, section_id, value) {
	var items = itemsWith(section, section_id, 'address', value), seen = {};
	for (var i = 0; i < items.length; i++) {
		var key = addressKey(items[i]);
		if (key == null)
			continue;
		if (seen[key] != null)
			return _('Each address once: %s and %s are the same address').replace('%s', seen[key]).replace('%s', items[i]);
		seen[key] = items[i];
	}
	if (!groupEnabled(section, section_id))
		return true;
	var others = otherGroups(section, section_id);
	for (var j = 0; j < others.length; j++) {
		var theirs = listOf(current(section, others[j], 'address'));
		for (var k = 0; k < theirs.length; k++)
			if (seen[addressKey(theirs[k])] != null)
				return _('%s is an address of group %s already').replace('%s', seen[addressKey(theirs[k])]).replace('%s', others[j]);
	}
	return true;
}

/* Unicast peers: each once, and never one of the group's own addresses. */
function peersProblem(section, section_id, value) {
	var items = itemsWith(section, section_id, 'peer', value), seen = {}, own = {};
	listOf(current(section, section_id, 'address')).forEach(function(a) { own[addressKey(a)] = a; });
	for (var i = 0; i < items.length; i++) {
		var key = addressKey(items[i]);
		if (key == null)
			continue;
		if (seen[key] != null)
			return _('Each peer once: %s is listed twice').replace('%s', items[i]);
		if (own[key] != null)
			return _('%s is a virtual address of this group, not the other router\'s').replace('%s', items[i]);
		seen[key] = true;
	}
	return true;
}

/* What a group runs on, as far as the page can tell: 'interface lan' or
 * 'device br-lan'; null while neither is chosen. */
function bindingOf(section, section_id) {
	var iface = current(section, section_id, 'interface');
	if (iface)
		return 'interface ' + iface;
	var device = current(section, section_id, 'device');
	return device ? 'device ' + device : null;
}

/* carpd: one vhid per device among the enabled groups. */
function vhidProblem(section, section_id, value) {
	var where = bindingOf(section, section_id);
	if (value === '' || where == null || !groupEnabled(section, section_id))
		return true;
	var others = otherGroups(section, section_id);
	for (var i = 0; i < others.length; i++)
		if (String(current(section, others[i], 'vhid')) === value && bindingOf(section, others[i]) === where)
			return _('VHID %s is used on %s by group %s already').replace('%s', value).replace('%s', where).replace('%s', others[i]);
	return true;
}

/* Flags store '1'/'0'. A file written by hand may say yes/on/true/enabled
 * (or no/off/false/disabled), which carpd takes too: show those as they
 * are meant, instead of as unchecked. */
function booleanWords(o) {
	o.rmempty = false;
	o.load = function(section_id) {
		var value = form.Flag.prototype.load.apply(this, [ section_id ]);
		if (TRUE_WORDS.indexOf(value) >= 0)
			return '1';
		if (FALSE_WORDS.indexOf(value) >= 0)
			return '0';
		return value;
	};
	return o;
}

return view.extend({
	load: function() {
		return uci.load('carp');
	},

	renderGlobals: function(m) {
		var s, o;

		s = m.section(form.TypedSection, 'globals', _('Service'));
		s.anonymous = true;
		s.addremove = false;

		o = booleanWords(s.option(form.Flag, 'enabled', _('Enabled'),
			_('Run carpd at all. The shipped file leaves it off until a group is configured.')));
		o.default = '1';

		/* Deprecated: carpd always writes there, and refuses any other path
		 * (root must not write where a LuCI user points it). */
		o = s.option(form.Value, 'status_file', _('Status file'),
			_('Where carpd writes its state, read by carp status and the status page. Always /var/run/carp/status.json; leave it empty.'));
		o.datatype = 'file';
		o.placeholder = '/var/run/carp/status.json';
		o.validate = function(section_id, value) {
			if (value === '' || value === '/var/run/carp/status.json')
				return true;
			return _('Only /var/run/carp/status.json');
		};

		o = s.option(form.Value, 'status_interval', _('Status interval'),
			_('The status file changes at once with a state, demotion or tracker; its counters are refreshed at most this often, in seconds, 1..3600 (and whenever the status is asked for).'));
		o.datatype = 'and(uinteger,range(1,3600))';
		o.placeholder = '60';

		o = booleanWords(s.option(form.Flag, 'user_script', _('Run /etc/carp.user'),
			_('Every transition also runs the user hook /etc/carp.user.')));
		o.default = '0';

		o = s.option(form.Value, 'hook_timeout', _('Hook timeout'),
			_('Seconds one run of the transition hooks may take, 1..300.'));
		o.datatype = 'and(uinteger,range(1,300))';
		o.placeholder = '30';

		o = s.option(form.Value, 'boot_delay', _('Boot delay'),
			_('Seconds every group stays in INIT after carpd starts, 0..3600, so a router that just booted lets its links settle before it takes part.'));
		o.datatype = 'and(uinteger,range(0,3600))';
		o.placeholder = '0';
	},

	renderGeneralTab: function(s) {
		var o;

		o = booleanWords(s.taboption('general', form.Flag, 'enabled', _('Enabled'),
			_('A disabled group is still checked, but not run.')));
		o.default = '1';
		o.editable = true;

		o = s.taboption('general', form.Value, 'vhid', _('VHID'),
			_('Virtual host id, 1..255: the same on every router of the group, unique per network.'));
		o.datatype = 'and(uinteger,range(1,255))';
		o.rmempty = false;
		o.validate = function(section_id, value) {
			return vhidProblem(this.section, section_id, value);
		};

		o = s.taboption('general', widgets.NetworkSelect, 'interface', _('Interface'),
			_('The logical interface the group runs on; carpd follows it to its device.'));
		o.nocreate = true;

		/* Optional in LuCI's sense: a required select offers no empty choice
		 * and shows its first device as chosen, which Save would then write
		 * unasked. The rule "an interface or a device" is validate()'s. */
		o = s.taboption('general', widgets.DeviceSelect, 'device', _('Device'),
			_('Or a Linux device instead of an interface.'));
		o.datatype = 'and(netdevname,maxlength(15))';
		o.noaliases = true;
		o.depends('interface', '');
		o.validate = function(section_id, value) {
			if (value || current(this.section, section_id, 'device'))
				return true;
			return _('Choose an interface, or a device');
		};

		o = s.taboption('general', form.Value, 'password', _('Password'),
			_('Shared secret, at most 19 bytes, the same on every router. Advertisements are signed with it (HMAC-SHA1), not encrypted.'));
		o.datatype = 'maxlength(19)';
		o.password = true;
		o.modalonly = true;
	},

	renderAddressesTab: function(s) {
		var o;

		o = s.taboption('addresses', form.DynamicList, 'address', _('Virtual addresses'),
			_('IPv4 or IPv6 addresses with their prefix, held by the master (/32 or /128 without one).'));
		o.rmempty = false;
		o.validate = function(section_id, value) {
			var why = (value === '') ? true : checkAddress(value, true, 0);
			return (why === true) ? addressesProblem(this.section, section_id, value) : why;
		};

		o = s.taboption('addresses', form.DynamicList, 'peer', _('Unicast peers'),
			_('The other routers\' addresses, to send advertisements to instead of the multicast groups (where switches filter multicast).'));
		o.datatype = 'ipaddr(1)';
		o.modalonly = true;
		o.validate = function(section_id, value) {
			var why = (value === '') ? true : checkAddress(value, false, 0);
			return (why === true) ? peersProblem(this.section, section_id, value) : why;
		};

		o = s.taboption('addresses', form.Value, 'source', _('Source address'),
			_('IPv4 source of advertisements; by default the device\'s first IPv4 address.'));
		o.datatype = 'ip4addr(1)';
		o.modalonly = true;
		o.validate = optionalAddress(false, 4);

		o = booleanWords(s.taboption('addresses', form.Flag, 'vmac', _('Virtual MAC'),
			_('Answer for the virtual addresses with the MAC 00:00:5e:00:01:<vhid> on a macvlan device, so clients need no ARP/NDP update on failover. Needs kmod-macvlan.')));
		o.default = '0';
		o.modalonly = true;
	},

	renderTimingTab: function(s) {
		var o;

		o = s.taboption('timing', form.Value, 'advbase', _('Advertisement base'),
			_('Seconds between advertisements, 0..254 (0: sub-second, advskew/256 s); the same on every router.'));
		o.datatype = 'and(uinteger,range(0,254))';
		o.placeholder = '1';
		o.modalonly = true;

		o = s.taboption('timing', form.Value, 'advskew', _('Advertisement skew'),
			_('1/256 s added to the interval, 0..254: lower wins. 0 on the preferred router, 100 on the second.'));
		o.datatype = 'and(uinteger,range(0,254))';
		o.placeholder = '0';

		o = s.taboption('timing', form.Value, 'deadratio', _('Dead ratio'),
			_('Advertisement intervals a backup waits before it takes over, 1..255.'));
		o.datatype = 'and(uinteger,range(1,255))';
		o.placeholder = '3';
		o.modalonly = true;
	},

	renderTrackingTab: function(s) {
		var o;

		o = booleanWords(s.taboption('tracking', form.Flag, 'preempt', _('Preempt'),
			_('Take the master role back from a less preferred master (higher advskew or more demoted).')));
		o.default = '0';

		o = s.taboption('tracking', form.Value, 'preempt_delay', _('Preempt delay'),
			_('Seconds a backup that could preempt waits first, 0..3600, so a router that just came back does not take over at once.'));
		o.datatype = 'and(uinteger,range(0,3600))';
		o.placeholder = '0';
		o.modalonly = true;

		o = s.taboption('tracking', form.Value, 'demote', _('Demotion'),
			_('Demotion counter sent in advertisements (OpenBSD), 0..255: of two routers, the more demoted one yields.'));
		o.datatype = 'and(uinteger,range(0,255))';
		o.placeholder = '0';
		o.modalonly = true;

		o = s.taboption('tracking', form.Value, 'group', _('Demotion group'),
			_('Groups with the same name fail over together: every failed tracked thing of the group demotes all of them by 1.'));
		o.datatype = 'and(uciname,maxlength(32))';
		o.placeholder = 'carp';
		o.modalonly = true;

		o = s.taboption('tracking', widgets.DeviceSelect, 'track_interface', _('Tracked devices'),
			_('Devices whose carrier must be up, such as the WAN port; the group\'s own device is always tracked.'));
		o.datatype = 'and(netdevname,maxlength(15))';
		o.multiple = true;
		o.noaliases = true;
		o.modalonly = true;

		o = s.taboption('tracking', form.DynamicList, 'track_ping', _('Tracked hosts'),
			_('IPv4 addresses that must answer ping, such as the upstream gateway.'));
		o.datatype = 'ip4addr(1)';
		o.modalonly = true;
		o.validate = optionalAddress(false, 4);

		o = s.taboption('tracking', form.Value, 'ping_interval', _('Ping interval'),
			_('Seconds between echo requests to each tracked host, 1..3600.'));
		o.datatype = 'and(uinteger,range(1,3600))';
		o.placeholder = '1';
		o.modalonly = true;

		o = s.taboption('tracking', form.Value, 'ping_fall', _('Ping fall'),
			_('Missed replies in a row that make a tracked host lost, 1..100.'));
		o.datatype = 'and(uinteger,range(1,100))';
		o.placeholder = '3';
		o.modalonly = true;

		o = s.taboption('tracking', form.Value, 'ping_rise', _('Ping rise'),
			_('Replies in a row that make a lost host good again, 1..100.'));
		o.datatype = 'and(uinteger,range(1,100))';
		o.placeholder = '3';
		o.modalonly = true;

		o = s.taboption('tracking', form.Value, 'up_delay', _('Carrier up delay'),
			_('Seconds a carrier that came back must stay up before it counts, 0..3600: a flapping cable keeps the router demoted.'));
		o.datatype = 'and(uinteger,range(0,3600))';
		o.placeholder = '0';
		o.modalonly = true;
	},

	renderHooksTab: function(s) {
		var o;

		o = booleanWords(s.taboption('hooks', form.Flag, 'dnsmasq', _('DHCP only on the master'),
			_('Restart dnsmasq when this router becomes master, stop it otherwise: one DHCP server.')));
		o.default = '0';
		o.modalonly = true;

		o = s.taboption('hooks', form.DynamicList, 'lease_sync', _('Replicate DHCP leases with'),
			_('The other router\'s own LAN address: leases are copied both ways (UDP 9112, signed with the password), so clients keep their addresses across a failover.'));
		o.datatype = 'ip4addr(1)';
		o.depends('dnsmasq', '1');
		o.modalonly = true;
		o.validate = optionalAddress(false, 4);

		o = s.taboption('hooks', form.DynamicList, 'wan', _('Uplinks on the master'),
			_('Interfaces brought up only while master and down otherwise (PPPoE, a shared DHCP WAN); give them option auto 0.'));
		o.datatype = 'and(uciname,maxlength(15))';
		o.modalonly = true;

		o = booleanWords(s.taboption('hooks', form.Flag, 'conntrackd', _('conntrackd'),
			_('Keep conntrackd\'s connection cache in step: commit on takeover, resync as backup.')));
		o.default = '0';
		o.modalonly = true;
	},

	render: function() {
		var m, s;

		m = new form.Map('carp', _('CARP failover'),
			_('Routers on one network share virtual addresses: the master holds them, and a backup takes over within seconds when it stops advertising. Configure every router alike, except the advertisement skew.'));

		this.renderGlobals(m);

		s = m.section(form.GridSection, 'vhid', _('Groups'),
			_('One CARP group (virtual host) per section.'));
		s.anonymous = false;
		s.addremove = true;
		s.nodescriptions = true;

		s.tab('general', _('General'));
		s.tab('addresses', _('Addresses'));
		s.tab('timing', _('Timing'));
		s.tab('tracking', _('Tracking'),
			_('Which router wins the election: preemption, demotion, and what this router watches (carriers, hosts) to demote itself when they fail.'));
		s.tab('hooks', _('Hooks'),
			_('Actions of /etc/hotplug.d/carp run on this group\'s transitions.'));

		this.renderGeneralTab(s);
		this.renderAddressesTab(s);
		this.renderTimingTab(s);
		this.renderTrackingTab(s);
		this.renderHooksTab(s);

		return m.render();
	}
});
