# Test double of OpenWrt's /lib/functions/network.sh: network_get_device
# answers from $FAKE_NETWORK_DEVICES ("lan=br-lan wan=eth1") instead of
# `ubus call network.interface dump`. Like the real one, an interface that
# is unknown or down yields an empty variable and a non-zero status.

# Its own variables have __ names, as the real one's, so that they never
# shadow the caller's.

network_get_device() { # <variable> <interface>
	local __pair __device=""
	for __pair in $FAKE_NETWORK_DEVICES; do
		[ "${__pair%%=*}" = "$2" ] && __device=${__pair#*=}
	done
	echo "network_get_device	$2" >>"$PROCD_RECORD"
	export "$1=$__device"
	[ -n "$__device" ]
}
