'use strict';
/*
 * Recording stand-ins for the LuCI modules the carp views require (view,
 * form, uci, rpc, poll, dom, tools.widgets) and for LuCI's globals (E, _,
 * L), so the views run under node with no router and no LuCI: they are
 * NOT LuCI. They record what a view declares (sections, tabs, options and
 * their datatypes, rpc calls, poll functions) and render a small DOM of
 * their own that serialises to LuCI-like HTML for the screenshots.
 *
 * loadView() loads a view file the way LuCI's loader does: the
 * 'require x' / 'require a.b as c' lines name the modules, and the file's
 * body runs as the body of a function that gets them as arguments and
 * returns the view class.
 *
 * datatypeAccepts() is our reading of the LuCI datatypes the settings page
 * uses (luci-base validation.js: uinteger, range, and, or, maxlength,
 * netdevname, uciname, ipaddr, ip4addr, ip6addr, cidr, file). An unknown
 * datatype throws, so a new one in the page fails the test until it is
 * described here.
 */

const fs = require('fs');

/* ---- a tiny DOM ------------------------------------------------------- */

class Node {
	constructor(tag, attrs, children) {
		this.tag = tag;
		this.attrs = attrs || {};
		this.children = [];
		append(this, children);
	}

	text() {
		return this.children.map(c => (c instanceof Node) ? c.text() : String(c)).join('');
	}

	find(predicate, out) {
		out = out || [];
		if (predicate(this))
			out.push(this);
		for (const c of this.children)
			if (c instanceof Node)
				c.find(predicate, out);
		return out;
	}

	byTag(tag) {
		return this.find(n => n.tag == tag);
	}
}

function append(node, children) {
	if (children == null || children === '')
		return;
	if (Array.isArray(children))
		children.forEach(c => append(node, c));
	else
		node.children.push(children);
}

function E(tag, attrs, children) {
	if (Array.isArray(attrs) || attrs instanceof Node || typeof attrs != 'object' || attrs === null)
		return new Node(tag, {}, attrs);
	return new Node(tag, attrs, children);
}

const VOID = new Set([ 'br', 'input', 'img', 'hr' ]);

function escape(text) {
	return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function html(node) {
	if (!(node instanceof Node))
		return escape(node);
	const attrs = Object.keys(node.attrs).filter(k => node.attrs[k] != null && node.attrs[k] !== false)
		.map(k => (node.attrs[k] === true) ? ' ' + k : ' ' + k + '="' + escape(node.attrs[k]) + '"').join('');
	if (VOID.has(node.tag))
		return '<' + node.tag + attrs + '>';
	return '<' + node.tag + attrs + '>' + node.children.map(html).join('') + '</' + node.tag + '>';
}

/* ---- globals: _, N_, L ------------------------------------------------ */

const translated = [];

function _(text) {
	translated.push(text);
	return text;
}

const L = {
	bind: (fn, self, ...args) => fn.bind(self, ...args),
	resolveDefault: (promise, def) => Promise.resolve(promise).catch(() => def),
	env: { pollinterval: 5 }
};

/* ---- uci -------------------------------------------------------------- */

function makeUci(configs) {
	const loaded = [];
	return {
		loaded: loaded,
		load(config) {
			loaded.push(config);
			return Promise.resolve([]);
		},
		sections(config, type) {
			return (configs[config] || []).filter(s => type == null || s['.type'] == type);
		},
		get(config, sid, option) {
			const s = (configs[config] || []).find(x => x['.name'] == sid);
			if (!s)
				return null;
			return (option == null) ? s : s[option];
		}
	};
}

/* ---- form ------------------------------------------------------------- */

function makeForm(uci) {
	class Map {
		constructor(config, title, description) {
			this.config = config;
			this.title = title;
			this.description = description;
			this.sections = [];
		}

		section(cls, ...args) {
			const s = new cls(this, ...args);
			this.sections.push(s);
			return s;
		}

		render() {
			return Promise.resolve(renderMap(this, uci));
		}

		describe() {
			return {
				config: this.config, title: this.title, description: this.description,
				sections: this.sections.map(s => s.describe())
			};
		}
	}

	class AbstractSection {
		constructor(map, sectiontype, title, description) {
			this.map = map;
			this.sectiontype = sectiontype;
			this.title = title;
			this.description = description;
			this.tabs = [];
			this.children = [];
		}

		tab(name, title, description) {
			if (this.tabs.some(t => t.name == name))
				throw new Error('tab ' + name + ' declared twice');
			this.tabs.push({ name: name, title: title, description: description || null });
		}

		option(cls, name, title, description) {
			if (this.children.some(o => o.option == name))
				throw new Error('option ' + name + ' declared twice');
			const o = new cls(this.map, this, name, title, description);
			this.children.push(o);
			return o;
		}

		taboption(tab, cls, name, title, description) {
			if (!this.tabs.some(t => t.name == tab))
				throw new Error('tab ' + tab + ' is not declared');
			const o = this.option(cls, name, title, description);
			o.tab = tab;
			return o;
		}

		cfgsections() {
			return uci.sections(this.map.config, this.sectiontype).map(s => s['.name']);
		}

		describe() {
			return {
				class: this.constructor.standin, type: this.sectiontype, title: this.title,
				description: this.description, anonymous: !!this.anonymous, addremove: !!this.addremove,
				tabs: this.tabs, options: this.children.map(o => o.describe())
			};
		}
	}

	class TypedSection extends AbstractSection {}
	TypedSection.standin = 'TypedSection';
	class GridSection extends TypedSection {}
	GridSection.standin = 'GridSection';
	class NamedSection extends AbstractSection {
		constructor(map, section, sectiontype, title, description) {
			super(map, sectiontype, title, description);
			this.section = section;
		}

		cfgsections() {
			return [ this.section ];
		}
	}
	NamedSection.standin = 'NamedSection';

	class AbstractValue {
		constructor(map, section, option, title, description) {
			this.map = map;
			this.section = section;
			this.option = option;
			this.title = title;
			this.description = description;
			this.tab = null;
			this.deps = [];
			this.keylist = [];
			this.vallist = [];
			this.rmempty = true;
			this.optional = false;
		}

		depends(field, value) {
			this.deps.push((typeof field == 'object') ? field : { [field]: value });
		}

		value(key, label) {
			this.keylist.push(String(key));
			this.vallist.push(label != null ? label : String(key));
		}

		load(section_id) {
			return uci.get(this.map.config, section_id, this.option);
		}

		cfgvalue(section_id) {
			return this.load(section_id);
		}

		/* What the page would accept for one value: datatype, then validate(). */
		accepts(section_id, value) {
			if (this.datatype && !datatypeAccepts(this.datatype, value))
				return false;
			if (typeof this.validate == 'function')
				return this.validate(section_id, value) === true;
			return true;
		}

		/* Whether the option is shown, given the values of the others. */
		active(section_id) {
			if (!this.deps.length)
				return true;
			return this.deps.some(dep => Object.keys(dep).every(field => {
				const v = uci.get(this.map.config, section_id, field);
				return (v == null ? '' : String(v)) == dep[field];
			}));
		}

		describe() {
			return {
				name: this.option, class: this.constructor.standin, tab: this.tab, title: this.title,
				description: this.description, datatype: this.datatype || null,
				default: (this.default !== undefined) ? this.default : null,
				placeholder: (this.placeholder !== undefined) ? this.placeholder : null,
				password: !!this.password, rmempty: !!this.rmempty, optional: !!this.optional,
				modalonly: !!this.modalonly, editable: !!this.editable, depends: this.deps,
				nocreate: !!this.nocreate, multiple: !!this.multiple, values: this.keylist,
				validate: typeof this.validate == 'function',
				enabled: this.enabled, disabled: this.disabled
			};
		}
	}

	class Value extends AbstractValue {}
	Value.standin = 'Value';
	class DynamicList extends AbstractValue {}
	DynamicList.standin = 'DynamicList';
	class ListValue extends AbstractValue {}
	ListValue.standin = 'ListValue';
	class Flag extends Value {
		constructor(...args) {
			super(...args);
			this.enabled = '1';
			this.disabled = '0';
			this.default = this.disabled;
		}
	}
	Flag.standin = 'Flag';

	return {
		Map: Map, TypedSection: TypedSection, GridSection: GridSection, NamedSection: NamedSection,
		AbstractValue: AbstractValue, Value: Value, Flag: Flag, DynamicList: DynamicList, ListValue: ListValue
	};
}

function makeWidgets(form) {
	class NetworkSelect extends form.ListValue {}
	NetworkSelect.standin = 'widgets.NetworkSelect';
	class DeviceSelect extends form.ListValue {}
	DeviceSelect.standin = 'widgets.DeviceSelect';
	return { NetworkSelect: NetworkSelect, DeviceSelect: DeviceSelect };
}

/* ---- rpc, poll, dom, view --------------------------------------------- */

function makeRpc(replies) {
	const rpc = {
		declared: [],
		calls: [],
		declare(options) {
			rpc.declared.push(options);
			return function(...args) {
				rpc.calls.push({ object: options.object, method: options.method, args: args });
				const reply = replies.shift();
				if (reply === undefined)
					return Promise.reject(new Error('no more replies for ' + options.object + '.' + options.method));
				return Promise.resolve(reply);
			};
		}
	};
	return rpc;
}

function makePoll() {
	const poll = {
		added: [],
		add(fn, interval) {
			poll.added.push({ fn: fn, interval: interval });
		}
	};
	return poll;
}

const dom = {
	content(node, children) {
		node.children = [];
		append(node, children);
		return node;
	}
};

const view = {
	extend(proto) {
		return proto;
	}
};

/* ---- loading a view --------------------------------------------------- */

function loadView(path, modules) {
	const source = fs.readFileSync(path, 'utf8');
	const names = [], args = [];
	const re = /^[ \t]*'require[ \t]+(\S+?)(?:[ \t]+as[ \t]+(\w+))?';/gm;
	let m;
	while ((m = re.exec(source)) !== null) {
		if (!(m[1] in modules))
			throw new Error(path + ' requires ' + m[1] + ', which has no stand-in');
		names.push(m[2] || m[1].split('.').pop());
		args.push(modules[m[1]]);
	}
	const factory = new Function('_', 'N_', 'E', 'L', ...names, source);
	return factory(_, (x, y) => y || x, E, L, ...args);
}

/* ---- LuCI datatypes, as far as the page uses them --------------------- */

function parseDatatype(code) {
	/* 'and(uinteger,range(1,255))' -> { name: 'and', args: [ {name:'uinteger',args:[]}, ... ] } */
	let pos = 0;
	function expr() {
		const m = /^\s*([A-Za-z0-9_.\-]+)\s*/.exec(code.slice(pos));
		if (!m)
			throw new Error('bad datatype ' + code);
		pos += m[0].length;
		const node = { name: m[1], args: [] };
		if (code[pos] == '(') {
			pos++;
			while (code[pos] != ')') {
				node.args.push(expr());
				if (code[pos] == ',')
					pos++;
			}
			pos++;
		}
		while (code[pos] == ' ')
			pos++;
		return node;
	}
	const tree = expr();
	if (pos != code.length)
		throw new Error('bad datatype ' + code);
	return tree;
}

function luciIPv4(x) {
	const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(x);
	if (!m || m.slice(1).some(p => +p > 255))
		return null;
	return m.slice(1).map(Number);
}

function luciIPv6(x) {
	const m4 = /^([a-fA-F0-9:]+):(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(x);
	if (m4) {
		const v4 = luciIPv4(m4[2]);
		if (!v4)
			return null;
		x = m4[1] + ':' + (v4[0] * 256 + v4[1]).toString(16) + ':' + (v4[2] * 256 + v4[3]).toString(16);
	}
	if (!/^[a-fA-F0-9:]+$/.test(x))
		return null;
	const halves = x.split('::');
	if (halves.length > 2)
		return null;
	const head = (halves[0] || '0').split(':');
	const tail = halves.length > 1 ? (halves[1] || '0').split(':') : [];
	if (tail.length ? head.length + tail.length > 7 : ((halves.length < 2 && head.length < 8) || head.length > 8))
		return null;
	for (const w of head.concat(tail))
		if (!/^[a-fA-F0-9]{1,4}$/.test(w))
			return null;
	return true;
}

const DATATYPES = {
	uinteger: (v) => /^-?\d+$/.test(v) && +v >= 0,
	integer: (v) => /^-?\d+$/.test(v),
	range: (v, lo, hi) => /^-?\d+(?:\.\d+)?$/.test(v) && +v >= lo && +v <= hi,
	maxlength: (v, n) => Buffer.byteLength(v, 'utf8') <= n,
	netdevname: (v) => v != '.' && v != '..' && /^[^:\/%\s]{1,15}$/.test(v),
	uciname: (v) => /^[a-zA-Z0-9_]+$/.test(v),
	file: () => true,
	ip4prefix: (v) => !isNaN(v) && +v >= 0 && +v <= 32,
	ip6prefix: (v) => !isNaN(v) && +v >= 0 && +v <= 128,
	ip4addr: (v, nomask) => {
		const m = (nomask ? /^(\d+\.\d+\.\d+\.\d+)$/ : /^(\d+\.\d+\.\d+\.\d+)(?:\/(\d+\.\d+\.\d+\.\d+)|\/(\d{1,2}))?$/).exec(v);
		return !!(m && luciIPv4(m[1]) && (m[2] ? luciIPv4(m[2]) : (m[3] ? DATATYPES.ip4prefix(m[3]) : true)));
	},
	ip6addr: (v, nomask) => {
		const m = (nomask ? /^([0-9a-fA-F:.]+)$/ : /^([0-9a-fA-F:.]+)(?:\/(\d{1,3}))?$/).exec(v);
		return !!(m && luciIPv6(m[1]) && (m[2] ? DATATYPES.ip6prefix(m[2]) : true));
	},
	ipaddr: (v, nomask) => DATATYPES.ip4addr(v, nomask) || DATATYPES.ip6addr(v, nomask),
	cidr4: (v) => {
		const m = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\/(\d{1,2})$/.exec(v);
		return !!(m && luciIPv4(m[1]) && DATATYPES.ip4prefix(m[2]));
	},
	cidr6: (v) => {
		const m = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(v);
		return !!(m && luciIPv6(m[1]) && DATATYPES.ip6prefix(m[2]));
	},
	cidr: (v) => DATATYPES.cidr4(v) || DATATYPES.cidr6(v)
};

function evaluate(node, value) {
	if (node.name == 'and')
		return node.args.every(a => evaluate(a, value));
	if (node.name == 'or')
		return node.args.some(a => evaluate(a, value));
	const fn = DATATYPES[node.name];
	if (!fn)
		throw new Error('datatype ' + node.name + ' has no stand-in');
	const args = node.args.map(a => {
		if (!/^-?\d+(\.\d+)?$/.test(a.name) || a.args.length)
			throw new Error('datatype ' + node.name + ': argument ' + a.name + ' is not a number');
		return +a.name;
	});
	return fn(value, ...args);
}

function datatypeAccepts(code, value) {
	return evaluate(parseDatatype(code), value);
}

/* ---- a LuCI-like rendering of a form.Map, for the screenshot ----------- */

function shown(o, sid) {
	let value = o.load(sid);
	const cls = o.constructor.standin;
	if (cls == 'Flag') {
		const on = (value == null ? o.default : value) == o.enabled;
		return E('input', { type: 'checkbox', checked: on });
	}
	if (cls == 'DynamicList') {
		const items = (value == null) ? [] : (Array.isArray(value) ? value : [ value ]);
		return E('div', { 'class': 'cbi-dynlist' }, items.map(v => E('div', { 'class': 'item' }, v))
			.concat([ E('div', { 'class': 'add-item' }, E('input', { type: 'text', placeholder: o.placeholder || '' })) ]));
	}
	if (cls.indexOf('Select') >= 0 || cls == 'ListValue')
		return E('div', { 'class': 'cbi-dropdown' }, value == null ? E('em', {}, '-- unspecified --') : value);
	if (o.password)
		return E('input', { type: 'password', value: value == null ? '' : value, 'class': 'cbi-input-password' });
	return E('input', { type: 'text', value: value == null ? '' : value, placeholder: o.placeholder || '' });
}

function fieldRow(o, sid) {
	return E('div', { 'class': 'cbi-value', 'data-name': o.option, 'data-widget': o.constructor.standin }, [
		E('label', { 'class': 'cbi-value-title' }, o.title),
		E('div', { 'class': 'cbi-value-field' }, [
			shown(o, sid),
			o.description ? E('div', { 'class': 'cbi-value-description' }, o.description) : ''
		])
	]);
}

function gridCell(o, sid) {
	const value = o.load(sid);
	if (o.constructor.standin == 'Flag')
		return shown(o, sid);
	if (!o.active(sid))
		return E('em', {}, '-');
	if (value == null)
		return E('em', {}, o.placeholder || '-');
	return Array.isArray(value) ? value.join(', ') : String(value);
}

function renderSection(s) {
	const out = [];
	if (s.title)
		out.push(E('h3', {}, s.title));
	if (s.description)
		out.push(E('div', { 'class': 'cbi-section-descr' }, s.description));
	const sids = s.cfgsections();
	if (s.constructor.standin != 'GridSection') {
		for (const sid of sids)
			out.push(E('div', { 'class': 'cbi-section-node', 'data-section': sid },
				s.children.filter(o => o.active(sid)).map(o => fieldRow(o, sid))));
		return E('div', { 'class': 'cbi-section', 'data-type': s.sectiontype }, out);
	}
	const columns = s.children.filter(o => !o.modalonly);
	out.push(E('table', { 'class': 'table cbi-section-table' }, [
		E('tr', { 'class': 'tr cbi-section-table-titles' },
			[ E('th', { 'class': 'th' }, 'Name') ].concat(columns.map(o => E('th', { 'class': 'th' }, o.title)))
				.concat([ E('th', { 'class': 'th' }, '') ]))
	].concat(sids.map(sid => E('tr', { 'class': 'tr cbi-section-table-row', 'data-sid': sid },
		[ E('td', { 'class': 'td' }, E('strong', {}, sid)) ].concat(columns.map(o => E('td', { 'class': 'td', 'data-name': o.option }, gridCell(o, sid))))
			.concat([ E('td', { 'class': 'td cbi-section-actions' }, [
				E('button', { 'class': 'btn cbi-button-edit' }, 'Edit'),
				E('button', { 'class': 'btn cbi-button-remove' }, 'Delete') ]) ]))))));
	if (s.addremove)
		out.push(E('div', { 'class': 'cbi-section-create' }, [
			E('input', { type: 'text', placeholder: 'new group name' }),
			E('button', { 'class': 'btn cbi-button-add' }, 'Add') ]));
	/* The edit dialog of the first section: every tab, one after the other. */
	if (sids.length) {
		const sid = sids[0];
		out.push(E('div', { 'class': 'cbi-modal', 'data-section': sid }, [
			E('h4', {}, 'Edit ' + s.sectiontype + ' ' + sid)
		].concat([ E('ul', { 'class': 'cbi-tabmenu' }, s.tabs.map((t, i) =>
			E('li', { 'class': i == 0 ? 'cbi-tab' : 'cbi-tab-disabled' }, t.title))) ])
			.concat([ E('div', { 'class': 'cbi-tab-panels' }, s.tabs.map(t => E('fieldset', { 'class': 'cbi-tab-panel', 'data-tab': t.name }, [
				E('legend', {}, t.title),
				t.description ? E('div', { 'class': 'cbi-section-descr' }, t.description) : ''
			].concat(s.children.filter(o => o.tab == t.name && o.active(sid)).map(o => fieldRow(o, sid)))))) ])));
	}
	return E('div', { 'class': 'cbi-section', 'data-type': s.sectiontype }, out);
}

function renderMap(map) {
	return E('div', { 'class': 'cbi-map', 'data-config': map.config }, [
		E('h2', {}, map.title),
		map.description ? E('div', { 'class': 'cbi-map-descr' }, map.description) : ''
	].concat(map.sections.map(renderSection)));
}

/* ---- all stand-ins for one view ---------------------------------------- */

function standins(configs, replies) {
	const uci = makeUci(configs || {});
	const form = makeForm(uci);
	const widgets = makeWidgets(form);
	const rpc = makeRpc((replies || []).slice());
	const poll = makePoll();
	return {
		modules: { view: view, form: form, uci: uci, rpc: rpc, poll: poll, dom: dom, 'tools.widgets': widgets },
		form: form, uci: uci, rpc: rpc, poll: poll
	};
}

module.exports = { E, Node, html, loadView, standins, datatypeAccepts, translated };
