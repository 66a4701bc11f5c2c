'use strict';
/*
 * Recording stand-ins for the LuCI modules the carp views require (view,
 * baseclass, form, uci, rpc, poll, dom, tools.widgets) and for LuCI's globals (E, _,
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
 * validateField() follows LuCI's validation (luci-base validation.js, see
 * there) for the datatypes the views use, including the way a datatype
 * replaces the value a view's validate() then gets. An unknown datatype
 * throws, so a new one in the page fails the test until it is described
 * here. saveErrors() (run_view.js) follows form.js's parse() on Save.
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

		/* form.js: an option's formvalue(section_id), or null for an option the section lacks. */
		formvalue(section_id, option) {
			const o = this.children.find(c => c.option == option);
			return o ? o.formvalue(section_id) : null;
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

		/* Whether the page takes one value typed into this option's field (for
		 * a DynamicList: its add-item field, always optional): validateField. */
		accepts(section_id, value) {
			return this.check(section_id, value, this.isList() ? true : this.optionalField()) === true;
		}

		check(section_id, value, optional) {
			const vfunc = (typeof this.validate == 'function') ? (v => this.validate(section_id, v)) : null;
			return validateField(this.datatype, optional, vfunc, value);
		}

		isList() {
			return this.constructor.standin == 'DynamicList';
		}

		optionalField() {
			return !!(this.optional || this.rmempty);
		}

		/* The value the form holds: the section's as loaded (the tests hand in what a user entered). */
		formvalue(section_id) {
			const v = this.load(section_id);
			if (this.isList())
				return (v == null) ? [] : (Array.isArray(v) ? v.slice() : [ v ]);
			return (v == null) ? '' : v;
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
	/* A checkbox is always one of its two values. */
	Flag.prototype.formvalue = function(section_id) {
		const v = this.load(section_id);
		return (v == null) ? this.default : v;
	};

	return {
		Map: Map, TypedSection: TypedSection, GridSection: GridSection, NamedSection: NamedSection,
		AbstractValue: AbstractValue, Value: Value, Flag: Flag, DynamicList: DynamicList, ListValue: ListValue
	};
}

/*
 * tools.widgets' NetworkSelect and DeviceSelect are LuCI dropdowns, and
 * what LuCI's dropdown does with no value (luci-base ui.js, Dropdown;
 * widgets.js) is kept: an optional single select (optional or rmempty)
 * offers an empty "unspecified" choice; one that is not optional offers
 * none and shows its first choice as selected, which is then the value
 * Save writes. choices: the interfaces or devices the router has.
 */
function makeWidgets(form, choices) {
	function select(base, kind) {
		class Select extends base {
			formvalue(section_id) {
				const v = this.load(section_id);
				if (this.multiple)
					return (v == null) ? [] : (Array.isArray(v) ? v.slice() : String(v).split(/\s+/));
				if ((v == null || v === '') && !this.optionalField())
					return (choices[kind] || [])[0] || '';
				return (v == null) ? '' : v;
			}
		}
		return Select;
	}
	const NetworkSelect = select(form.ListValue, 'networks');
	NetworkSelect.standin = 'widgets.NetworkSelect';
	const DeviceSelect = select(form.ListValue, 'devices');
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
const baseclass = view;

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

/* ---- LuCI datatypes and validation, as luci-base validation.js does it -- */

/*
 * What the real Validator does (luci-base validation.js; read on openwrt/luci
 * master, the same on 24.10), which these stand-ins follow:
 *   - An empty field passes if and only if the widget is optional
 *     (form.js passes `optional: this.optional || this.rmempty`; the add-item
 *     field of a DynamicList is always optional); a non-empty one must pass
 *     the datatype ('string', which takes anything, when there is none).
 *   - Only then does the option's validate(section_id, value) run, and it
 *     gets the Validator's CURRENT value: a datatype that hands a part of
 *     the value to another one (apply(name, part)) replaces the value for
 *     everything after it. cidr4/cidr6 hand on the prefix length, and so do
 *     ip4addr/ip6addr when a /prefix is given: with 'or(cidr,ipaddr(1))',
 *     validate() sees '24' for '192.168.1.253/24'. and()/or() share that
 *     one value across their branches.
 *   - Numbers in a datatype's arguments are numbers; nested datatypes are
 *     functions with their own arguments.
 */

function compileDatatype(code) {
	/* 'and(uinteger,range(1,255))' -> { name: 'and', args: [ {name:'uinteger',args:[]}, {name:'range',args:[1,255]} ] } */
	let pos = 0;
	function expr() {
		const m = /^\s*([A-Za-z0-9_.\-]+)\s*/.exec(code.slice(pos));
		if (!m)
			throw new Error('bad datatype ' + code);
		pos += m[0].length;
		if (/^-?\d+(\.\d+)?$/.test(m[1]))
			return +m[1];
		if (!(m[1] in DATATYPES))
			throw new Error('datatype ' + m[1] + ' has no stand-in');
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
	if (pos != code.length || typeof tree != 'object')
		throw new Error('bad datatype ' + code);
	return tree;
}

function parseIPv4(x) {
	const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(x);
	if (!m || m.slice(1).some(p => +p > 255))
		return null;
	return m.slice(1).map(Number);
}

function parseIPv6(x) {
	const m4 = /^([a-fA-F0-9:]+):(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(x);
	if (m4) {
		const v4 = parseIPv4(m4[2]);
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

function decimal(x) {
	return /^-?\d+(?:\.\d+)?$/.test(x) ? +x : NaN;
}

/* Each datatype runs with `this` a Check: this.value, this.apply(). */
const DATATYPES = {
	and(...nodes) { return nodes.every(n => this.run(n)); },
	or(...nodes) { return nodes.some(n => this.run(n)); },
	integer() { return /^-?\d+$/.test(this.value); },
	uinteger() { return /^-?\d+$/.test(this.value) && +this.value >= 0; },
	range(lo, hi) { const v = decimal(this.value); return v >= lo && v <= hi; },
	maxlength(n) { return Buffer.byteLength(this.value, 'utf8') <= n; },
	netdevname() { return this.value != '.' && this.value != '..' && /^[^:\/%\s]{1,15}$/.test(this.value); },
	uciname() { return /^[a-zA-Z0-9_]+$/.test(this.value); },
	file() { return true; },
	string() { return true; },
	ip4prefix() { return !isNaN(this.value) && this.value >= 0 && this.value <= 32; },
	ip6prefix() { return !isNaN(this.value) && this.value >= 0 && this.value <= 128; },
	ip4addr(nomask) {
		const m = (nomask ? /^(\d+\.\d+\.\d+\.\d+)$/ : /^(\d+\.\d+\.\d+\.\d+)(?:\/(\d+\.\d+\.\d+\.\d+)|\/(\d{1,2}))?$/).exec(this.value);
		return !!(m && parseIPv4(m[1]) && (m[2] ? parseIPv4(m[2]) : (m[3] ? this.apply('ip4prefix', m[3]) : true)));
	},
	ip6addr(nomask) {
		const m = (nomask ? /^([0-9a-fA-F:.]+)$/ : /^([0-9a-fA-F:.]+)(?:\/(\d{1,3}))?$/).exec(this.value);
		return !!(m && parseIPv6(m[1]) && (m[2] ? this.apply('ip6prefix', m[2]) : true));
	},
	ipaddr(nomask) { return this.apply('ip4addr', null, [ nomask ]) || this.apply('ip6addr', null, [ nomask ]); },
	cidr4(negative) {
		const m = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\/(-)?(\d{1,2})$/.exec(this.value);
		return !!(m && parseIPv4(m[1]) && (negative || !m[2]) && this.apply('ip4prefix', m[3]));
	},
	cidr6(negative) {
		const m = /^([0-9a-fA-F:.]+)\/(-)?(\d{1,3})$/.exec(this.value);
		return !!(m && parseIPv6(m[1]) && (negative || !m[2]) && this.apply('ip6prefix', m[3]));
	},
	cidr(negative) { return this.apply('cidr4', null, [ negative ]) || this.apply('cidr6', null, [ negative ]); }
};

class Check {
	constructor(value) {
		this.value = value;
	}

	/* Run another datatype, on a value of its own if one is given: that value replaces this.value. */
	apply(name, value, args) {
		if (value != null)
			this.value = value;
		return !!DATATYPES[name].apply(this, args || []);
	}

	run(node) {
		return this.apply(node.name, null, node.args);
	}
}

/*
 * One field's validation, as LuCI's Validator.validate(): true, or why not.
 * vfunc is the option's validate() bound to the section (form.js binds it).
 */
function validateField(datatype, optional, vfunc, value) {
	const check = new Check(value);
	if (value.length === 0) {
		if (!optional)
			return 'non-empty value';
	}
	else if (datatype && !check.run(compileDatatype(datatype))) {
		return 'datatype ' + datatype;
	}
	return (typeof vfunc == 'function') ? vfunc(check.value) : true;
}

function datatypeAccepts(code, value) {
	return new Check(value).run(compileDatatype(code));
}

/*
 * What Save finds wrong in one section, as form.js parse() does: every
 * option that is shown (its depends() met) must be valid, and then not
 * empty unless optional or rmempty. Valid is the outcome of the field's
 * validation (validateField): form.js re-validates every shown option after
 * rendering and after each change (checkDepends). A DynamicList is
 * validated as a whole through its list node, which has no value of its
 * own: validate(section_id, '') (LuCI makes dynamic lists optional); so is
 * a select of several values. -> [{option, error}]
 */
function saveErrors(section, section_id) {
	const errors = [];
	for (const o of section.children) {
		if (!o.active(section_id))
			continue;
		const value = o.formvalue(section_id);
		const whole = Array.isArray(value);
		const verdict = o.check(section_id, whole ? '' : String(value), whole ? true : o.optionalField());
		if (verdict !== true)
			errors.push({ option: o.option, error: String(verdict) });
		else if ((whole ? value.length == 0 : value === '') && !o.optionalField())
			errors.push({ option: o.option, error: 'must not be empty' });
	}
	return errors;
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

function standins(configs, replies, choices) {
	const uci = makeUci(configs || {});
	const form = makeForm(uci);
	const widgets = makeWidgets(form, choices || {});
	const rpc = makeRpc((replies || []).slice());
	const poll = makePoll();
	return {
		modules: { view: view, baseclass: baseclass, form: form, uci: uci, rpc: rpc, poll: poll, dom: dom,
			'tools.widgets': widgets },
		form: form, uci: uci, rpc: rpc, poll: poll
	};
}

module.exports = { E, Node, html, loadView, standins, datatypeAccepts, validateField, saveErrors, translated };
