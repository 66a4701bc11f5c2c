# Test double of OpenWrt's /lib/functions/procd.sh that RECORDS what the
# init script asks of procd instead of sending it over ubus: one line per
# call into $PROCD_RECORD, the function name and its arguments separated by
# tabs. Written for these tests; no ubus, jshn or procd is involved.
#
# As in the real file, it loads jshn.sh (the double in
# usr/share/libubox), procd_close_service calls the script's
# service_triggers (that is where triggers are declared), and procd_running
# is the real one's pipeline: `ubus call service list` (the ubus double,
# answering from $FAKE_PROCD_RUNNING) piped into `jsonfilter -l 1 -e
# "@['<service>'].instances[*].running"`, "true" meaning running. With the
# jsonfilter double in its broken mode (OpenWrt 25.12.0) that is never true.

. "$IPKG_INSTROOT/usr/share/libubox/jshn.sh"

_procd_record() {
	local line="$1" arg
	shift
	for arg in "$@"; do
		line="$line	$arg"
	done
	echo "$line" >>"$PROCD_RECORD"
}

procd_lock() { :; }

procd_open_service() { _procd_record procd_open_service "$@"; }
procd_close_service() {
	service_triggers
	_procd_record procd_close_service "$@"
}
procd_open_instance() { _procd_record procd_open_instance "$@"; }
procd_set_param() { _procd_record procd_set_param "$@"; }
procd_append_param() { _procd_record procd_append_param "$@"; }
procd_close_instance() { _procd_record procd_close_instance "$@"; }
procd_open_trigger() { _procd_record procd_open_trigger "$@"; }
procd_close_trigger() { _procd_record procd_close_trigger "$@"; }
procd_add_reload_trigger() { _procd_record procd_add_reload_trigger "$@"; }
procd_add_interface_trigger() { _procd_record procd_add_interface_trigger "$@"; }
procd_add_reload_interface_trigger() { _procd_record procd_add_reload_interface_trigger "$@"; }
procd_add_config_trigger() { _procd_record procd_add_config_trigger "$@"; }
procd_add_raw_trigger() { _procd_record procd_add_raw_trigger "$@"; }
procd_open_validate() { _procd_record procd_open_validate "$@"; }
procd_close_validate() { _procd_record procd_close_validate "$@"; }
procd_kill() { _procd_record procd_kill "$@"; }
procd_send_signal() { # <service> <instance> <signal>
	_procd_record procd_send_signal "$@"
	# With $FAKE_PROCD_PID (a lab test's running launcher), deliver the signal
	# to it, as procd does to the instance's process.
	[ -z "$FAKE_PROCD_PID" ] || kill -s "$3" "$FAKE_PROCD_PID"
}

_procd_ubus_call() {
	ubus call service "$1" "$(json_dump)"
	json_cleanup
}

procd_running() {
	local service="$1" instance="${2:-*}" running
	_procd_record procd_running "$@"
	[ "$instance" = "*" ] || instance="'$instance'"
	json_init
	json_add_string name "$service"
	running=$(_procd_ubus_call list | jsonfilter -l 1 -e "@['$service'].instances[$instance].running")
	[ "$running" = "true" ]
}
