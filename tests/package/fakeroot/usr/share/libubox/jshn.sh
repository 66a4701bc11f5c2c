# Test double of libubox's /usr/share/libubox/jshn.sh, written for these
# tests and runnable by busybox ash. It keeps the interface and behaviour
# carp's scripts rely on, not the real file's variable layout:
#   - json_init, json_add_string/int/boolean/object/array, json_close_*,
#     json_dump (json-c's spaced style as `jshn -w` prints it:
#     { "key": "value", "n": 1 }, "/" written as "\/"), json_cleanup;
#   - json_load evaluates `jshn -r JSON` (the jshn double) like the real one,
#     and fails the same way on anything that is not an object;
#   - json_select <key> | .. (non-zero, with a warning on stderr unless
#     _json_no_warning is set, when <key> is no object or array),
#     json_get_var (booleans are 1/0), json_get_type, json_get_keys.
# Keys must be shell words here (the real one mangles any key); the double
# refuses others loudly rather than misbehave.

_jshn_new() { # <type> <parent>: a container; its id in _jshn_id
	_JSHN_COUNT=$((${_JSHN_COUNT:-0} + 1))
	_jshn_id=J$_JSHN_COUNT
	eval "${_jshn_id}_T=\$1; ${_jshn_id}_UP=\$2; ${_jshn_id}_K=; ${_jshn_id}_N=0"
}

_jshn_add() { # <type> <key> <value>
	local c="$_JSHN_CUR" key="$2" t keys
	eval "t=\$${c}_T"
	if [ "$t" = array ]; then
		eval "${c}_N=\$((${c}_N + 1)); key=\$${c}_N"
	fi
	case "$key" in
	"" | *[!A-Za-z0-9_]*)
		echo "jshn double: key '$key' is not supported" >&2
		return 1
		;;
	esac
	eval "keys=\$${c}_K"
	case " $keys " in
	*" $key "*) ;;
	*) eval "${c}_K=\"\${keys:+\$keys }\$key\"" ;;
	esac
	eval "${c}_Y_$key=\$1; ${c}_V_$key=\$3"
}

json_init() {
	_jshn_new object ""
	_JSHN_ROOT=$_jshn_id
	_JSHN_CUR=$_jshn_id
}
json_cleanup() { json_init; }

json_add_string() { _jshn_add string "$1" "$2"; }
json_add_int() { _jshn_add int "$1" "$2"; }
json_add_boolean() { _jshn_add boolean "$1" "$2"; }
json_add_double() { _jshn_add double "$1" "$2"; }
json_add_null() { _jshn_add null "$1" ""; }

_jshn_open() { # <type> <key>
	local parent="$_JSHN_CUR"
	_jshn_new "$1" "$parent"
	_jshn_add "$1" "$2" "$_jshn_id" || return 1
	_JSHN_CUR=$_jshn_id
}
json_add_object() { _jshn_open object "$1"; }
json_add_array() { _jshn_open array "$1"; }
json_close_object() { eval "_JSHN_CUR=\$${_JSHN_CUR}_UP"; }
json_close_array() { json_close_object; }

json_load() {
	local script
	script=$(jshn -r "$1") || return 1
	eval "$script"
}

json_select() {
	local t v
	if [ "$1" = .. ]; then
		eval "v=\$${_JSHN_CUR}_UP"
		[ -n "$v" ] && _JSHN_CUR=$v
		return 0
	fi
	eval "t=\$${_JSHN_CUR}_Y_$1; v=\$${_JSHN_CUR}_V_$1"
	case "$t" in
	object | array) _JSHN_CUR=$v ;;
	*)
		[ -n "$_json_no_warning" ] || echo "WARNING: Variable '$1' does not exist or is not an array/object" >&2
		return 1
		;;
	esac
}

json_get_var() { # <variable> <key> [<default>]
	local t
	eval "t=\${${_JSHN_CUR}_Y_$2}"
	if [ -z "$t" ]; then
		eval "$1=\$3"
		return 1
	fi
	eval "$1=\$${_JSHN_CUR}_V_$2"
}

json_get_type() { # <variable> <key>
	local t
	eval "t=\${${_JSHN_CUR}_Y_$2}"
	eval "$1=\$t"
	[ -n "$t" ]
}

json_get_keys() { # <variable>
	eval "$1=\$${_JSHN_CUR}_K"
}

_jshn_string() { # JSON string literal, escaped as json-c escapes it
	printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\//\\\//g' \
		-e 's/\t/\\t/g' -e 's/\r/\\r/g' | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n/\\n/g')"
}

_jshn_dump() { # <container>
	local c="$1" t keys key y v sep="" open close
	eval "t=\$${c}_T; keys=\$${c}_K"
	if [ "$t" = array ]; then open="[" close="]"; else open="{" close="}"; fi
	printf '%s' "$open"
	for key in $keys; do
		eval "y=\$${c}_Y_$key; v=\$${c}_V_$key"
		printf '%s ' "$sep"
		[ "$t" = array ] || printf '%s: ' "$(_jshn_string "$key")"
		case "$y" in
		string) _jshn_string "$v" ;;
		boolean) if [ "$v" = 1 ]; then printf true; else printf false; fi ;;
		null) printf null ;;
		object | array) _jshn_dump "$v" ;;
		*) printf '%s' "$v" ;;
		esac
		sep=,
	done
	printf ' %s' "$close"
}

json_dump() {
	_jshn_dump "$_JSHN_ROOT"
	echo
}
