'use strict';
/*
 * node run_view.js REQUEST.json  ->  JSON on stdout
 *
 * Runs package/luci-app-carp's views with the recording stand-ins of
 * standins.js (not LuCI itself) and reports what they declared and
 * rendered. The request:
 *   settings: { path, configs: {carp: [uci sections]}, samples: {type: {option: [values]}},
 *               words: [boolean spellings], choices: {networks: [...], devices: [...]} }
 *             -> also saved: {section: [{option, error}]}, what Save finds wrong
 *               in each section (standins.saveErrors)
 *   status:   { path, replies: [what `ubus call carp status` answers, in order] }
 *   overview: { path, replies: [...] }: a Status -> Overview include, loaded
 *             and rendered once per reply, as the overview page refreshes it
 */

const fs = require('fs');
const S = require('./standins.js');

async function runSettings(req) {
	const env = S.standins(req.configs, [], req.choices);
	const View = S.loadView(req.path, env.modules);
	const self = Object.create(View);

	/* The stand-in Map records everything; keep the ones the view renders. */
	const maps = [];
	const render = env.form.Map.prototype.render;
	env.form.Map.prototype.render = function() {
		maps.push(this);
		return render.apply(this, arguments);
	};
	await self.load();
	const node = await self.render();
	const result = { required: env.uci.loaded.slice(), maps: maps.map(m => m.describe()), html: S.html(node) };

	/* Every sample value through the page's checks (datatype, then validate). */
	result.verdicts = {};
	/* How each Flag shows a boolean spelling found in the file ('' = absent). */
	result.flags = {};
	result.saved = {};
	result.formvalues = {};
	for (const m of maps)
		for (const s of m.sections)
			for (const sid of s.cfgsections()) {
				result.saved[sid] = S.saveErrors(s, sid);
				result.formvalues[sid] = {};
				for (const o of s.children)
					if (o.active(sid))
						result.formvalues[sid][o.option] = o.formvalue(sid);
			}
	const carp = req.configs.carp;
	for (const m of maps)
		for (const s of m.sections)
			for (const o of s.children) {
				const samples = ((req.samples || {})[s.sectiontype] || {})[o.option] || [];
				const verdicts = {};
				for (const value of samples)
					verdicts[value] = o.accepts('probe', value);
				(result.verdicts[s.sectiontype] = result.verdicts[s.sectiontype] || {})[o.option] = verdicts;

				if (o.constructor.standin != 'Flag')
					continue;
				const flags = {};
				for (const word of (req.words || []).concat([ null ])) {
					const probe = { '.name': '__probe', '.type': s.sectiontype };
					if (word !== null)
						probe[o.option] = word;
					carp.push(probe);
					flags[word === null ? '' : word] = o.load('__probe');
					carp.pop();
				}
				(result.flags[s.sectiontype] = result.flags[s.sectiontype] || {})[o.option] = flags;
			}
	return result;
}

function rowsOf(node) {
	return node.find(n => n.tag == 'tr' && n.attrs['data-vhid'] != null).map(tr => ({
		name: tr.attrs['data-vhid'],
		cells: tr.children.map(td => ({ title: td.attrs['data-title'], text: td.text() }))
	}));
}

async function runStatus(req) {
	const env = S.standins({}, req.replies);
	const View = S.loadView(req.path, env.modules);
	const self = Object.create(View);
	const data = await self.load();
	const node = await self.render(data);
	const result = {
		declared: env.rpc.declared,
		first: { html: S.html(node), rows: rowsOf(node), text: node.text() },
		polls: env.poll.added.map(p => ({ interval: p.interval })),
		buttons: { handleSave: View.handleSave, handleSaveApply: View.handleSaveApply, handleReset: View.handleReset },
		after: []
	};
	/* Each further reply: one poll tick. */
	while (env.rpc.calls.length < req.replies.length + 1) {
		for (const p of env.poll.added)
			await p.fn();
		result.after.push({ html: S.html(node), rows: rowsOf(node), text: node.text() });
	}
	result.calls = env.rpc.calls;
	return result;
}

async function runOverview(req) {
	const env = S.standins({}, req.replies);
	const widget = S.loadView(req.path, env.modules);
	const result = { title: widget.title, declared: env.rpc.declared, shown: [] };
	for (let i = 0; i < req.replies.length + 1; i++) {
		const node = widget.render(await widget.load());
		result.shown.push({ html: S.html(node), rows: rowsOf(node), text: node.text() });
	}
	return result;
}

async function main() {
	const req = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
	const out = {};
	if (req.settings)
		out.settings = await runSettings(req.settings);
	if (req.status)
		out.status = await runStatus(req.status);
	if (req.overview)
		out.overview = await runOverview(req.overview);
	out.translated = Array.from(new Set(S.translated)).sort();
	process.stdout.write(JSON.stringify(out));
}

main().catch(err => {
	process.stderr.write((err && err.stack) || String(err));
	process.exit(1);
});
