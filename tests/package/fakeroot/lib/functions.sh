# Test double of OpenWrt's /lib/functions.sh: the UCI part only, written for
# these tests (OpenWrt's own file is not in Debian and is not copied here).
#
# It keeps the real semantics the init script relies on:
#   - config_load reads a package as `uci export` prints it and evaluates it
#     with the functions config/option/list, filling CONFIG_<section>_<option>
#     variables; the real one evals `uci -S -n export <package>` output, and
#     an /etc/config file in export style is that very text. Anonymous
#     sections get names (the real uci says cfgXXXXXX). It returns non-zero
#     when the package does not exist, as `uci export` does.
#     ${UCI_CONFIG_DIR:-/etc/config} is where packages are, as in uci_load.
#   - a list option's value is its items joined by spaces, plus
#     <option>_LENGTH and <option>_ITEM<n>;
#   - config_get, config_get_bool (1/on/true/yes/enabled, 0/off/false/no/
#     disabled, anything else: the default), config_foreach (sections in
#     file order, optionally of one type), config_list_foreach.

# Its own variables have __ names, so that they never shadow the caller's
# (config_get writes the caller's variable by name).

config_set() { # <section> <option> <value>
	export "CONFIG_${1}_${2}=${3}"
}

config() { # <type> [<name>]
	CONFIG_NUM_SECTIONS=$((CONFIG_NUM_SECTIONS + 1))
	CONFIG_SECTION=${2:-cfg$(printf '%02x' "$CONFIG_NUM_SECTIONS")test}
	CONFIG_SECTIONS="${CONFIG_SECTIONS:+$CONFIG_SECTIONS }$CONFIG_SECTION"
	config_set "$CONFIG_SECTION" TYPE "$1"
}

option() { # <name> <value...>
	local __name="$1"
	shift
	config_set "$CONFIG_SECTION" "$__name" "$*"
}

list() { # <name> <value...>
	local __name="$1" __length __current
	shift
	eval "__length=\${CONFIG_${CONFIG_SECTION}_${__name}_LENGTH:-0}"
	__length=$((__length + 1))
	config_set "$CONFIG_SECTION" "${__name}_ITEM$__length" "$*"
	config_set "$CONFIG_SECTION" "${__name}_LENGTH" "$__length"
	eval "__current=\${CONFIG_${CONFIG_SECTION}_${__name}}"
	config_set "$CONFIG_SECTION" "$__name" "${__current:+$__current }$*"
}

package() {
	return 0
}

config_load() { # <package>
	local __file="${UCI_CONFIG_DIR:-/etc/config}/$1" __section
	for __section in $CONFIG_SECTIONS; do
		unset $(set | sed -n "s/^\(CONFIG_${__section}_[A-Za-z0-9_]*\)=.*/\1/p")
	done
	CONFIG_SECTIONS=
	CONFIG_NUM_SECTIONS=0
	CONFIG_SECTION=
	[ -f "$__file" ] || return 1
	. "$__file"
}

config_get() { # <variable> <section> <option> [<default>] | <section> <option>
	case "$3" in
	"") eval "echo \"\${CONFIG_${1}_${2}:-\${4}}\"" ;;
	*) eval "export -- \"$1=\${CONFIG_${2}_${3}:-\${4}}\"" ;;
	esac
}

get_bool() { # <value> <default>
	case "$1" in
	1 | on | true | yes | enabled) echo 1 ;;
	0 | off | false | no | disabled) echo 0 ;;
	*) echo "$2" ;;
	esac
}

config_get_bool() { # <variable> <section> <option> [<default>]
	local __value
	config_get __value "$2" "$3" "$4"
	export "$1=$(get_bool "$__value" "$4")"
}

config_foreach() { # <function> [<type>] [<argument...>]
	local __function="$1" __type="$2" __section __section_type
	[ "$#" -ge 2 ] && shift 2 || shift
	for __section in $CONFIG_SECTIONS; do
		config_get __section_type "$__section" TYPE
		[ -n "$__type" ] && [ "$__section_type" != "$__type" ] && continue
		"$__function" "$__section" "$@"
	done
	return 0
}

config_list_foreach() { # <section> <option> <function> [<argument...>]
	local __section="$1" __name="$2" __function="$3" __length __i=1 __item
	shift 3
	config_get __length "$__section" "${__name}_LENGTH"
	[ -n "$__length" ] || return 0
	while [ "$__i" -le "$__length" ]; do
		config_get __item "$__section" "${__name}_ITEM$__i"
		"$__function" "$__item" "$@"
		__i=$((__i + 1))
	done
}

list_contains() { # <variable> <word>
	local __current
	eval "__current=\$$1"
	case " $__current " in
	*" $2 "*) return 0 ;;
	esac
	return 1
}
