#!/usr/bin/env bash
# tests/lab/lab.sh: the reference scenario lab (issue #3): a cloud VM behind 1:1 NAT that
# receives multicast from a datacenter over GRE over IPsec. See tests/lab/README.md for
# the diagram and the address mapping.
#
#   sudo tests/lab/lab.sh up [--cloud standin|swanless|none] [--keepalive N]
#   sudo tests/lab/lab.sh status
#   sudo tests/lab/lab.sh down
#   sudo SWANLESS=build/apps/swanless tests/lab/lab.sh demo   (live; Ctrl-C tears down)
#
# Sourced by tests (`. tests/lab/lab.sh`), it defines, on top of tests/interop/lib.sh and
# tests/lab/lablib.sh:
#   lab_up [--cloud standin|swanless|none] [--keepalive N]
#                          namespaces cloud, nat, dc, src; NAT; dc side (charon responder,
#                          GRE endpoint gre1, FRR zebra+pimd as PIM-SM router and RP);
#                          then the cloud side chosen (default: none)
#   lab_down               tear everything down (also runs from lib.sh's trap)
#   lab_topology, dc_up, standin_up, cloud_swanless_up     the steps of lab_up
#   cloud_swanless_conf [OPTS], cloud_swanless_start [--user U:G], cloud_swanless_status [--json]
#                          swanless's config (variants), start (optionally unprivileged), status
#   warm_up [TIMEOUT] NAME...   uncounted warm-up datagrams until receivers NAME see them
#   start_source RATE SECONDS [SIZE]    multicast sender in src to 239.1.1.1:5000
#   wait_source [TIMEOUT]  wait until it finished; prints its JSON result
#   start_receiver [PORT] [GROUP] [IFNAME] [NAME]   mcast_receiver.py in cloud (tracked)
#   receiver_stats [NAME]  print the receiver's JSON status
#   frr_show CMD           vtysh "CMD" on the dc router (e.g. frr_show 'show ip pim join')
#   gre_keepalive_counts   "SENT REPLIES" of the dc GRE endpoint's keepalives
#   gre_status dc|cloud    the GRE endpoint's JSON counters
#   dc_sas / cloud_sas     swanctl --list-sas of the dc charon / the stand-in charon
#   pim_neighbor_up ADDR IFACE, pim_join_on GROUP IFACE     predicates on FRR's state
#   dc2_up [KEEPALIVE_S]   the second datacenter gateway (namespace dc2: charon, gre2, FRR,
#                          B feed from src eth1, PIM link peer0 to dc); not part of lab_up
#   standin_dc2_up         the stand-in's second tunnel (cloud -> dc2, gre2, PIM join)
#   start_source_ab RATE SECONDS [SIZE]   the source on both links (A and B, same bytes)
#   start_receiver_on IFNAME NAME [PORT]  receiver in cloud bound to one tunnel (gre1/gre2)
#   frr2_show CMD, frr_show_at ROUTER CMD, dc2_sas, dc2_forwarder_stat KEY,
#   pim_neighbor_up_at ROUTER ADDR IFACE, pim_join_on_at ROUTER GROUP IFACE
#   mcast_forwarding_at NS IN OUT [FRR]   the forwarding plane of one router (kernel/user space)

# shellcheck disable=SC2034  # LAB_*_PID and the address variables are for the tests that source this
LAB_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lablib.sh
. "$LAB_HERE/lablib.sh"

# ---------------------------------------------------------------------------------------
# addresses (seed-aws.conf with the public and non-documentation addresses mapped)
LAB_CLOUD_PRIV=10.1.1.246      # VM private address (as in the seed)
LAB_NAT_IN=10.1.1.1            # NAT gateway, VPC side
LAB_NAT_PUB=203.0.113.1        # VM's public address (seed: 222.45.67.1)
LAB_NAT_WAN=198.51.100.1       # "internet" router address on the dc's link
LAB_DC_GW=198.51.100.20        # dc VPN gateway (seed: 177.54.214.20)
LAB_DC_GRE=10.44.7.1           # dc GRE endpoint (on lo)
LAB_CLOUD_GRE=10.44.6.1        # VM GRE endpoint
LAB_DC_TUN=10.44.4.5           # gre1 inner, dc
LAB_CLOUD_TUN=10.44.4.6        # gre1 inner, VM
LAB_DC_NET=198.18.30.0/24      # datacenter subnet (seed: 100.15.30.0/24)
LAB_DC_HOST=198.18.30.1        # a datacenter host (on dc's lo) for the tcp child
LAB_RP=198.18.30.253           # RP (seed: 100.15.30.253)
LAB_CLOUD_NET=10.45.8.16/28    # VM's "interesting traffic" subnet (seed: 10.45.8.17/28)
LAB_CLOUD_HOST=10.45.8.17
LAB_SRC_DC=198.18.31.1         # dc on the source's link
LAB_SRC_ADDR=198.18.31.10      # the multicast source
LAB_GROUP=239.1.1.1
LAB_PORT=5000
# the second datacenter gateway (dc2_up; issue 14 item 4): its own WAN link from the NAT,
# charon, GRE endpoint gre2 and FRR router, fed by the source's second link (the B feed)
LAB_NAT_WAN2=198.18.40.1       # nat's out1, the "internet" router on dc2's link
LAB_DC2_GW=198.18.40.20        # dc2 VPN gateway
LAB_DC2_GRE=10.44.17.1         # dc2 GRE endpoint (on lo)
LAB_CLOUD_GRE2=10.44.16.1      # VM's second GRE endpoint
LAB_DC2_TUN=10.44.14.5         # gre2 inner, dc2
LAB_CLOUD_TUN2=10.44.14.6      # gre2 inner, VM
LAB_SRC_DC2=198.18.32.1        # dc2 on the source's second link
LAB_SRC_ADDR2=198.18.32.10     # the source's second address (B feed)
LAB_PEER_DC=198.18.41.1        # dc on the dc-dc2 link (peer0), PIM neighbors
LAB_PEER_DC2=198.18.41.2       # dc2 on the dc-dc2 link (peer0)
LAB_PSK=${LAB_PSK:-"swanless lab shared secret, not for production"}
LAB_PROPOSAL=${LAB_PROPOSAL:-aes256-sha256-modp2048}
LAB_STATE=${LAB_STATE:-/run/swanless-lab.state}
SWANLESS=${SWANLESS:-$LAB_HERE/../../build/apps/swanless}

# ---------------------------------------------------------------------------------------
# building blocks

# lab_topology: namespaces, veths, addresses, routes, NAT.
#   cloud eth0 10.1.1.246/24 -- nat in0 10.1.1.1/24
#   nat out0 203.0.113.1/24 + 198.51.100.1/24 -- dc wan0 198.51.100.20/24
#   dc src0 198.18.31.1/24 -- src eth0 198.18.31.10/24
lab_topology() {
  local n
  for n in cloud nat dc src; do ns_create "$n" || return 1; done
  link_ns cloud eth0 "$LAB_CLOUD_PRIV/24" nat in0 "$LAB_NAT_IN/24" || return 1
  link_ns nat out0 "$LAB_NAT_PUB/24" dc wan0 "$LAB_DC_GW/24" || return 1
  ns_addr nat out0 "$LAB_NAT_WAN/24" || return 1
  link_ns dc src0 "$LAB_SRC_DC/24" src eth0 "$LAB_SRC_ADDR/24" || return 1
  # cloud: no default route, only the dc's public subnet via the NAT gateway
  ns_route cloud 198.51.100.0/24 via "$LAB_NAT_IN" || return 1
  # dc: the NATed public addresses via the "internet" router
  ns_route dc 203.0.113.0/24 via "$LAB_NAT_WAN" || return 1
  # src: multicast out of eth0
  ns_route src 224.0.0.0/4 dev eth0 || return 1
  # nat: forwarding inside this namespace only; 1:1 NAT like a cloud provider's
  nsx nat sysctl -qw net.ipv4.ip_forward=1 >/dev/null || return 1
  ns_nat nat snat "$LAB_CLOUD_PRIV/32" out0 "$LAB_NAT_PUB" || return 1
  ns_nat nat dnat "$LAB_NAT_PUB/32" out0 "$LAB_CLOUD_PRIV" || return 1
}

# dc_up [KEEPALIVE_S]: the datacenter: inner addresses, GRE endpoint (gre1), charon
# responder with children dc-tun-gre and dc-tun-tcp, FRR (zebra + pimd, RP).
dc_up() {
  local ka=${1:-10}
  ns_addr dc lo "$LAB_DC_GRE/32" && ns_addr dc lo "$LAB_RP/32" && ns_addr dc lo "$LAB_DC_HOST/32" || return 1
  # charon first (it takes longest), GRE endpoint meanwhile
  charon_start dc dc --no-wait || return 1
  lab_bg dc "$LAB_DIR/gre-dc.log" python3 "$LAB_HERE/gre_endpoint.py" --ifname gre1 \
    --local "$LAB_DC_GRE" --remote "$LAB_CLOUD_GRE" --address "$LAB_DC_TUN/30" --peer "$LAB_CLOUD_TUN" \
    --keepalive "$ka" --reflect --status "$LAB_DIR/gre-dc.json"
  LAB_GRE_DC_PID=$LAB_BG_PID
  wait_log "$LAB_DIR/gre-dc.log" "gre_endpoint: gre1 up" 10 \
    || { echo "dc_up: GRE endpoint did not start:" >&2; cat "$LAB_DIR/gre-dc.log" >&2; return 1; }
  frr_start dc dc "$(cat <<EOF
!
interface lo
 ip pim
!
interface src0
 ip pim
!
interface gre1
 ip pim
!
ip pim rp $LAB_RP 239.0.0.0/8
!
EOF
)" || return 1
  dc_mcast_forwarding || return 1
  charon_wait dc || return 1
  swanctl_conf_gen "$LAB_DIR/dc.swanctl.conf" --conn dc-tun --local "$LAB_DC_GW" --remote "$LAB_NAT_PUB" \
    --local-id "$LAB_DC_GW" --remote-id "$LAB_NAT_PUB" --psk "$LAB_PSK" \
    --ike "$LAB_PROPOSAL" --esp "$LAB_PROPOSAL" --encap no --start none \
    --child dc-tun-gre "$LAB_DC_GRE/32" "$LAB_CLOUD_GRE/32" tunnel \
    --child dc-tun-tcp "$LAB_DC_NET" "$LAB_CLOUD_NET" tunnel || return 1
  charon_load dc dc "$LAB_DIR/dc.swanctl.conf" || return 1
}

# lab_mcast_mode: how the dc forwards the source's multicast into gre1, printed as
# "kernel" or "userspace". LAB_MCAST_FORWARD=auto (default) picks "kernel" where the kernel
# has IPv4 multicast routing (CONFIG_IP_MROUTE: /proc/net/ip_mr_vif exists in a namespace)
# and "userspace" where it has not; "kernel" or "userspace" forces one, and "kernel" on a
# kernel without multicast routing is an error (it could not deliver a datagram).
lab_mcast_mode() {
  local want=${LAB_MCAST_FORWARD:-auto} have=userspace
  nsx dc test -e /proc/net/ip_mr_vif 2>/dev/null && have=kernel
  case $want in
    auto) echo "$have" ;;
    userspace) echo userspace ;;
    kernel)
      if [ "$have" != kernel ]; then
        echo "lab: LAB_MCAST_FORWARD=kernel, but this kernel ($(uname -r)) has no IPv4 multicast routing (no /proc/net/ip_mr_vif, CONFIG_IP_MROUTE off)" >&2
        return 1
      fi
      echo kernel ;;
    *) echo "lab: LAB_MCAST_FORWARD must be auto, kernel or userspace, not '$want'" >&2; return 1 ;;
  esac
}

# mcast_forwarding_at NS IN OUT [FRR_NAME]: after FRR (FRR_NAME, default NS) is up in NS,
# make sure something forwards the source's multicast arriving on IN into OUT while FRR
# holds a join for it on OUT. "kernel": FRR's pimd programs the kernel's multicast routing
# (nothing to start). "userspace": mcast_forwarder.py, which follows FRR's join state on
# OUT and forwards IN -> OUT itself (log and counters $LAB_DIR/fwd-NS.log, fwd-NS.json).
# Sets LAB_FWD_MODE (kernel|userspace) and LAB_FWD_PID (the forwarder, "" in kernel mode)
# and says which way in the log.
mcast_forwarding_at() {
  local ns=$1 in=$2 out=$3 frr=${4:-$1}
  LAB_FWD_PID=""
  LAB_FWD_MODE=$(lab_mcast_mode) || return 1
  if [ "$LAB_FWD_MODE" = kernel ]; then
    lab_log "$ns forwards multicast with the kernel (CONFIG_IP_MROUTE, programmed by FRR's pimd)"
    return 0
  fi
  lab_bg "$ns" "$LAB_DIR/fwd-$ns.log" python3 "$LAB_HERE/mcast_forwarder.py" --in "$in" --out "$out" \
    --vty-socket "${LAB_FRR_DIR[$frr]}" --groups 239.0.0.0/8 --status "$LAB_DIR/fwd-$ns.json"
  LAB_FWD_PID=$LAB_BG_PID
  wait_log "$LAB_DIR/fwd-$ns.log" "mcast_forwarder: $in -> $out" 10 \
    || { echo "${ns}_up: multicast forwarder did not start:" >&2; cat "$LAB_DIR/fwd-$ns.log" >&2; return 1; }
  lab_log "$ns forwards multicast in user space (mcast_forwarder.py, following FRR's joins on $out): the kernel $(uname -r) has no IPv4 multicast routing (CONFIG_IP_MROUTE)"
}

# dc_mcast_forwarding: mcast_forwarding_at for the dc (src0 -> gre1). Sets LAB_DC_MCAST
# (kernel|userspace) and LAB_FWD_DC_PID.
dc_mcast_forwarding() {
  LAB_DC_MCAST=""
  mcast_forwarding_at dc src0 gre1 || return 1
  LAB_DC_MCAST=$LAB_FWD_MODE
  LAB_FWD_DC_PID=$LAB_FWD_PID
}

# dc_forwarder_stat KEY: a counter of the userspace forwarder ("" in kernel mode).
dc_forwarder_stat() { [ "${LAB_DC_MCAST:-}" = userspace ] && json_get "$LAB_DIR/fwd-dc.json" "$1"; }

# check_dc_forwarded SENT: a check that the dc's forwarding plane carried the stream (SENT
# datagrams, counted ones) into gre1, the way it was chosen: in kernel mode FRR's
# `show ip mroute` has the source's (S,G) with gre1 in its outgoing list; in user space the
# forwarder forwarded at least SENT datagrams (warm-up included).
check_dc_forwarded() {
  local sent=$1
  if [ "$LAB_DC_MCAST" = kernel ]; then
    local mr; mr=$(frr_show 'show ip mroute' 2>/dev/null)
    if grep -E "$LAB_SRC_ADDR +$LAB_GROUP " <<<"$mr" | grep -q gre1; then
      pass "dc forwarding (kernel multicast routing): FRR's mroute ($LAB_SRC_ADDR,$LAB_GROUP) goes out gre1"
    else
      fail "dc forwarding (kernel): no mroute ($LAB_SRC_ADDR,$LAB_GROUP) out gre1"; echo "$mr"
    fi
  else
    local f; f=$(dc_forwarder_stat forwarded)
    check "dc forwarding (user space, no CONFIG_IP_MROUTE): mcast_forwarder.py forwarded ${f:-?} datagrams into gre1 (>= $sent sent), completed ${f:+$(dc_forwarder_stat checksums_completed)} checksums, $(dc_forwarder_stat send_errors) send errors" \
      awk -v f="${f:-0}" -v s="$sent" 'BEGIN { exit !(s > 0 && f >= s) }'
  fi
}

# check_dc_forwarding_stopped: after swanless's Prune, in user space, the forwarder must
# have seen the join go and must forward nothing more: 50 datagrams sent then are counted
# as no_state and none as forwarded. (In kernel mode FRR removes the kernel's entry itself;
# the Prune check against FRR's join state covers it.)
check_dc_forwarding_stopped() {
  [ "$LAB_DC_MCAST" = userspace ] || return 0
  if ! wait_log "$LAB_DIR/fwd-dc.log" "join \(\*,$LAB_GROUP\) on gre1 gone" 5; then
    fail "dc forwarder: did not see the (*,$LAB_GROUP) join go"; cat "$LAB_DIR/fwd-dc.log"; return 1
  fi
  sleep 0.6   # its status file is written every 0.5 s
  local f0 n0 f1 n1
  f0=$(dc_forwarder_stat forwarded); n0=$(dc_forwarder_stat no_state)
  nsx src python3 "$LAB_HERE/mcast_sender.py" --group "$LAB_GROUP" --port "$LAB_PORT" --rate 100 \
    --seconds 0.5 --size 200 --ttl 16 --iface-addr "$LAB_SRC_ADDR" --status "$LAB_DIR/after-prune.json" >/dev/null 2>&1
  wait_for "[ \"\$(dc_forwarder_stat no_state)\" -ge $(( ${n0:-0} + 40 )) ]" 3
  f1=$(dc_forwarder_stat forwarded); n1=$(dc_forwarder_stat no_state)
  check "dc forwarder stops with FRR's join: after the Prune $(( ${n1:-0} - ${n0:-0} )) datagrams without state, $(( ${f1:-0} - ${f0:-0} )) forwarded" \
    awk -v f0="${f0:-x}" -v f1="${f1:-y}" -v n0="${n0:-0}" -v n1="${n1:-0}" 'BEGIN { exit !(f0 == f1 && n1 - n0 >= 40) }'
}

# dc2_up [KEEPALIVE_S]: the second datacenter gateway (issue 14 item 4), after
# lab_topology and dc_up. Namespace dc2: wan0 $LAB_DC2_GW linked to nat's out1
# (the same 1:1 NAT: the VM leaves as $LAB_NAT_PUB), the source's second link src0
# (the B feed: src eth1 $LAB_SRC_ADDR2), a link peer0 to dc; charon responder with conn
# dc2-tun and child dc2-tun-gre ($LAB_DC2_GRE/32 <-> $LAB_CLOUD_GRE2/32), GRE endpoint
# gre2, FRR (zebra + pimd) as a plain PIM router whose RP is dc's $LAB_RP (reached over
# peer0; dc and dc2 are PIM neighbors there), and, where the kernel has no multicast
# routing, a second mcast_forwarder.py (src0 -> gre2). Sets LAB_DC2_MCAST, LAB_GRE_DC2_PID,
# LAB_FWD_DC2_PID. Nothing of this exists unless dc2_up is called.
dc2_up() {
  local ka=${1:-10}
  [ -n "${LAB_FRR_DIR[dc]:-}" ] || { echo "dc2_up: call lab_topology and dc_up first" >&2; return 1; }
  ns_create dc2 || return 1
  link_ns nat out1 "$LAB_NAT_WAN2/24" dc2 wan0 "$LAB_DC2_GW/24" || return 1
  link_ns dc2 src0 "$LAB_SRC_DC2/24" src eth1 "$LAB_SRC_ADDR2/24" || return 1
  link_ns dc peer0 "$LAB_PEER_DC/24" dc2 peer0 "$LAB_PEER_DC2/24" || return 1
  # the same 1:1 NAT towards dc2's link; cloud and dc2 route through it
  ns_nat nat snat "$LAB_CLOUD_PRIV/32" out1 "$LAB_NAT_PUB" || return 1
  ns_nat nat dnat "$LAB_NAT_PUB/32" out1 "$LAB_CLOUD_PRIV" || return 1
  ns_route cloud 198.18.40.0/24 via "$LAB_NAT_IN" || return 1
  ns_route dc2 203.0.113.0/24 via "$LAB_NAT_WAN2" || return 1
  # dc2 reaches the RP (and the datacenter subnet) through dc; nothing routes the B
  # feed's subnet to dc, so dc never takes it as an (S,G) (see tests/lab/README.md)
  ns_route dc2 "$LAB_DC_NET" via "$LAB_PEER_DC" || return 1
  ns_addr dc2 lo "$LAB_DC2_GRE/32" || return 1
  charon_start dc2 dc2 --no-wait || return 1
  lab_bg dc2 "$LAB_DIR/gre-dc2.log" python3 "$LAB_HERE/gre_endpoint.py" --ifname gre2 \
    --local "$LAB_DC2_GRE" --remote "$LAB_CLOUD_GRE2" --address "$LAB_DC2_TUN/30" --peer "$LAB_CLOUD_TUN2" \
    --keepalive "$ka" --reflect --status "$LAB_DIR/gre-dc2.json"
  LAB_GRE_DC2_PID=$LAB_BG_PID
  wait_log "$LAB_DIR/gre-dc2.log" "gre_endpoint: gre2 up" 10 \
    || { echo "dc2_up: GRE endpoint did not start:" >&2; cat "$LAB_DIR/gre-dc2.log" >&2; return 1; }
  frr_start dc2 dc2 "$(cat <<EOF
!
interface lo
 ip pim
!
interface src0
 ip pim
!
interface gre2
 ip pim
!
interface peer0
 ip pim
!
ip pim rp $LAB_RP 239.0.0.0/8
!
EOF
)" || return 1
  # dc's FRR is running already: PIM on its end of the link, at run time
  frr_vtysh dc 'configure terminal' 'interface peer0' 'ip pim' >"$LAB_DIR/frr-dc-peer0.out" 2>&1 \
    || { echo "dc2_up: cannot enable PIM on dc's peer0:" >&2; cat "$LAB_DIR/frr-dc-peer0.out" >&2; return 1; }
  LAB_DC2_MCAST=""
  mcast_forwarding_at dc2 src0 gre2 || return 1
  LAB_DC2_MCAST=$LAB_FWD_MODE
  LAB_FWD_DC2_PID=$LAB_FWD_PID
  charon_wait dc2 || return 1
  swanctl_conf_gen "$LAB_DIR/dc2.swanctl.conf" --conn dc2-tun --local "$LAB_DC2_GW" --remote "$LAB_NAT_PUB" \
    --local-id "$LAB_DC2_GW" --remote-id "$LAB_NAT_PUB" --psk "$LAB_PSK" \
    --ike "$LAB_PROPOSAL" --esp "$LAB_PROPOSAL" --encap no --start none \
    --child dc2-tun-gre "$LAB_DC2_GRE/32" "$LAB_CLOUD_GRE2/32" tunnel || return 1
  charon_load dc2 dc2 "$LAB_DIR/dc2.swanctl.conf" || return 1
}

# dc2_forwarder_stat KEY: a counter of dc2's userspace forwarder ("" in kernel mode).
dc2_forwarder_stat() { [ "${LAB_DC2_MCAST:-}" = userspace ] && json_get "$LAB_DIR/fwd-dc2.json" "$1"; }

# cloud_base: the VM's inner addresses (what swanless would put on its TUN; the stand-in
# charon needs them on lo) and rp_filter off (multicast from the source arrives on gre1
# with no route back there).
cloud_base() {
  nsx cloud sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null \
    || { echo "cloud_base: cannot set rp_filter in cloud (read-only /proc/sys?)" >&2; return 1; }
}

# standin_up: strongSwan charon in cloud in place of swanless (initiator, encap forced,
# through the NAT), a Python GRE endpoint (gre1 10.44.4.6, reflects keepalives) and the
# PIM Hello+Join sender on gre1.
standin_up() {
  cloud_base || return 1
  ns_addr cloud lo "$LAB_CLOUD_GRE/32" && ns_addr cloud lo "$LAB_CLOUD_HOST/32" || return 1
  charon_start cloud cloud --no-wait || return 1
  lab_bg cloud "$LAB_DIR/gre-cloud.log" python3 "$LAB_HERE/gre_endpoint.py" --ifname gre1 \
    --local "$LAB_CLOUD_GRE" --remote "$LAB_DC_GRE" --address "$LAB_CLOUD_TUN/30" --peer "$LAB_DC_TUN" \
    --reflect --status "$LAB_DIR/gre-cloud.json"
  wait_log "$LAB_DIR/gre-cloud.log" "gre_endpoint: gre1 up" 10 \
    || { echo "standin_up: GRE endpoint did not start:" >&2; cat "$LAB_DIR/gre-cloud.log" >&2; return 1; }
  nsx cloud sysctl -qw net.ipv4.conf.gre1.rp_filter=0 >/dev/null || return 1
  ns_route cloud 198.18.31.0/24 dev gre1 || return 1
  charon_wait cloud || return 1
  swanctl_conf_gen "$LAB_DIR/cloud.swanctl.conf" --conn dc-tun --local "$LAB_CLOUD_PRIV" --remote "$LAB_DC_GW" \
    --local-id "$LAB_NAT_PUB" --remote-id "$LAB_DC_GW" --psk "$LAB_PSK" \
    --ike "$LAB_PROPOSAL" --esp "$LAB_PROPOSAL" --encap yes --start none \
    --child dc-tun-gre "$LAB_CLOUD_GRE/32" "$LAB_DC_GRE/32" tunnel \
    --child dc-tun-tcp "$LAB_CLOUD_NET" "$LAB_DC_NET" tunnel || return 1
  charon_load cloud cloud "$LAB_DIR/cloud.swanctl.conf" || return 1
  # first child inside IKE_AUTH, second by CREATE_CHILD_SA (with PFS)
  charon_initiate cloud cloud dc-tun-gre 15 || return 1
  charon_initiate cloud cloud dc-tun-tcp 15 || return 1
  lab_bg cloud "$LAB_DIR/pim-cloud.log" python3 "$LAB_HERE/pim_join.py" --ifname gre1 \
    --ifaddr "$LAB_CLOUD_TUN" --neighbor "$LAB_DC_TUN" --rp "$LAB_RP" --group "$LAB_GROUP" \
    --status "$LAB_DIR/pim-cloud.json"
  LAB_PIM_PID=$LAB_BG_PID
}

# standin_dc2_up: after standin_up and dc2_up, the stand-in's second tunnel, to dc2: the
# same cloud charon gets a second connection dc2-tun (child dc2-tun-gre
# $LAB_CLOUD_GRE2/32 <-> $LAB_DC2_GRE/32, encap forced, through the NAT), a second GRE
# endpoint gre2 ($LAB_CLOUD_TUN2) and a second PIM Hello+Join sender on gre2 (towards
# dc2, RP $LAB_RP). Sets LAB_PIM2_PID.
standin_dc2_up() {
  [ -f "$LAB_DIR/cloud.swanctl.conf" ] || { echo "standin_dc2_up: call standin_up first" >&2; return 1; }
  ns_addr cloud lo "$LAB_CLOUD_GRE2/32" || return 1
  lab_bg cloud "$LAB_DIR/gre-cloud2.log" python3 "$LAB_HERE/gre_endpoint.py" --ifname gre2 \
    --local "$LAB_CLOUD_GRE2" --remote "$LAB_DC2_GRE" --address "$LAB_CLOUD_TUN2/30" --peer "$LAB_DC2_TUN" \
    --reflect --status "$LAB_DIR/gre-cloud2.json"
  wait_log "$LAB_DIR/gre-cloud2.log" "gre_endpoint: gre2 up" 10 \
    || { echo "standin_dc2_up: GRE endpoint did not start:" >&2; cat "$LAB_DIR/gre-cloud2.log" >&2; return 1; }
  nsx cloud sysctl -qw net.ipv4.conf.gre2.rp_filter=0 >/dev/null || return 1
  ns_route cloud 198.18.32.0/24 dev gre2 || return 1
  swanctl_conf_gen "$LAB_DIR/cloud-dc2.swanctl.conf" --conn dc2-tun --local "$LAB_CLOUD_PRIV" --remote "$LAB_DC2_GW" \
    --local-id "$LAB_NAT_PUB" --remote-id "$LAB_DC2_GW" --psk "$LAB_PSK" \
    --ike "$LAB_PROPOSAL" --esp "$LAB_PROPOSAL" --encap yes --start none \
    --child dc2-tun-gre "$LAB_CLOUD_GRE2/32" "$LAB_DC2_GRE/32" tunnel || return 1
  # --load-all replaces the whole config: load both connections together
  cp "$LAB_DIR/cloud.swanctl.conf" "$LAB_DIR/cloud-both.swanctl.conf" || return 1
  swanctl_conf_join "$LAB_DIR/cloud-both.swanctl.conf" "$LAB_DIR/cloud-dc2.swanctl.conf" || return 1
  charon_load cloud cloud "$LAB_DIR/cloud-both.swanctl.conf" || return 1
  charon_initiate cloud cloud dc2-tun-gre 15 || return 1
  lab_bg cloud "$LAB_DIR/pim-cloud2.log" python3 "$LAB_HERE/pim_join.py" --ifname gre2 \
    --ifaddr "$LAB_CLOUD_TUN2" --neighbor "$LAB_DC2_TUN" --rp "$LAB_RP" --group "$LAB_GROUP" \
    --status "$LAB_DIR/pim-cloud2.json"
  LAB_PIM2_PID=$LAB_BG_PID
}

# cloud_swanless_conf [OPTIONS]: write DIR/swanless.conf and DIR/swanless.secrets: seed-aws.conf
# mapped to the lab's addresses. OPTIONS:
#   --keepalive reply|off|Ns    the gre section's keepalive (default reply)
#   --deliver SPEC              the pim section's deliver (default tun,udp:127.0.0.1:5001)
#   --tun yes|no                the gre section's tun (default yes)
#   --ikeport N                 leftikeport=N and rightikeport=N (default: none, 500 then 4500)
#   --gre-only                  only the conns dc-tun/dc-tun-gre (no dc-tun-tcp)
#   --pcap DIR                  config setup pcap=DIR
#   --metrics HOST:PORT         config setup metrics= (Prometheus text at /metrics)
#   --groups SPEC               the pim section's groups (default $LAB_GROUP; "auto": members on gre1)
#   --pim-line KEY=VALUE        one more line in the pim section (repeatable)
#   --dir DIR                   where the conf, secrets, socket and keylog folder
#                               (DIR/swanless-keys) go (default $LAB_DIR)
# Sets SWANLESS_CONF, SWANLESS_SOCK, SWANLESS_KEYS.
cloud_swanless_conf() {
  local ka=reply deliver="tun,udp:127.0.0.1:$((LAB_PORT + 1))" tun=yes ikeport="" greonly=0 pcap="" dir=$LAB_DIR metrics=""
  local groups=$LAB_GROUP pimlines=""
  while [ $# -gt 0 ]; do
    case $1 in
      --keepalive) ka=$2; shift 2 ;;
      --deliver) deliver=$2; shift 2 ;;
      --tun) tun=$2; shift 2 ;;
      --ikeport) ikeport=$2; shift 2 ;;
      --gre-only) greonly=1; shift ;;
      --pcap) pcap=$2; shift 2 ;;
      --metrics) metrics=$2; shift 2 ;;
      --groups) groups=$2; shift 2 ;;
      --pim-line) pimlines+="    $2"$'\n'; shift 2 ;;
      --dir) dir=$2; shift 2 ;;
      *) echo "cloud_swanless_conf: unknown option $1" >&2; return 1 ;;
    esac
  done
  SWANLESS_CONF=$dir/swanless.conf
  SWANLESS_SOCK=$dir/swanless.sock
  SWANLESS_KEYS=$dir/swanless-keys
  mkdir -p "$SWANLESS_KEYS"
  {
    cat <<EOF
# seed-aws.conf with the lab's addresses (tests/lab/README.md has the mapping)
config setup
    socket=$SWANLESS_SOCK
    keylog=$SWANLESS_KEYS
    loglevel=${SWANLESS_LOGLEVEL:-info}
EOF
    [ -n "$pcap" ] && echo "    pcap=$pcap"
    [ -n "$metrics" ] && echo "    metrics=$metrics"
    cat <<EOF

conn %default
    keyexchange=ikev2
    authby=secret
    ike=$LAB_PROPOSAL!
    esp=$LAB_PROPOSAL!
    ikelifetime=3h
    lifetime=1h
    rekeymargin=9m
    dpddelay=30s
    dpdaction=restart

conn dc-tun
    left=$LAB_CLOUD_PRIV
    leftid=$LAB_NAT_PUB
    right=$LAB_DC_GW
    rightid=$LAB_DC_GW
    auto=ignore
EOF
    [ -n "$ikeport" ] && printf '    leftikeport=%s\n    rightikeport=%s\n' "$ikeport" "$ikeport"
    cat <<EOF

conn dc-tun-gre
    also=dc-tun
    leftsubnet=$LAB_CLOUD_GRE/32
    rightsubnet=$LAB_DC_GRE/32
    auto=start
EOF
    [ $greonly = 1 ] || cat <<EOF

conn dc-tun-tcp
    also=dc-tun
    leftsubnet=$LAB_CLOUD_HOST/28
    rightsubnet=$LAB_DC_NET
    auto=start
EOF
    cat <<EOF

gre gre1
    conn=dc-tun-gre
    local=$LAB_CLOUD_GRE
    remote=$LAB_DC_GRE
    address=$LAB_CLOUD_TUN/30
    peer=$LAB_DC_TUN
    mtu=1476
    ttl=255
    keepalive=$ka
    tun=$tun

pim upstream
    interface=gre1
    neighbor=$LAB_DC_TUN
    rp=$LAB_RP
    groups=$groups
    deliver=$deliver
EOF
    printf '%s' "$pimlines"
  } >"$SWANLESS_CONF"
  printf '%s %s : PSK "%s"\n' "$LAB_NAT_PUB" "$LAB_DC_GW" "$LAB_PSK" >"${SWANLESS_CONF%.conf}.secrets"
  chmod 600 "${SWANLESS_CONF%.conf}.secrets"
}

# cloud_swanless_start [--user UID:GID [--caps "CAP_X CAP_Y"]]: run $SWANLESS with $SWANLESS_CONF in
# cloud (tracked, log swanless.log next to the conf), wait for its control socket. With
# --user, run it as that user and group, no supplementary groups, no_new_privs, and no
# capabilities at all, or with --caps exactly those (bounding, inheritable and ambient:
# what a unit's CapabilityBoundingSet=/AmbientCapabilities= give). Where /dev/net/tun is
# not open to the user (0600 in a container without udev), it gets a node of its own,
# bound over /dev/net/tun in its mount namespace only.
# Sets LAB_SWANLESS_PID (the swanless process itself: ip netns exec and setpriv exec it).
cloud_swanless_start() {
  local user="" caps=""
  [ "${1:-}" = --user ] && { user=$2; shift 2; }
  [ "${1:-}" = --caps ] && { caps=$2; shift 2; }
  local bin; bin=$(readlink -f "$SWANLESS" 2>/dev/null)
  [ -x "$bin" ] || { echo "cloud_swanless_start: no swanless binary at $SWANLESS (set SWANLESS=)" >&2; return 1; }
  local logf; logf=$(dirname "$SWANLESS_CONF")/swanless.log
  local -a pre=()
  if [ -n "$user" ] && [ -n "$caps" ]; then
    local sp; sp=$(tr '[:upper:]' '[:lower:]' <<<"$caps" | sed 's/cap_/+/g; s/ \+/,/g; s/^,//; s/,$//')
    if ! setpriv --reuid="${user%%:*}" --regid="${user##*:}" --clear-groups sh -c 'exec 3<>/dev/net/tun' 2>/dev/null; then
      local node; node=$(dirname "$SWANLESS_CONF")/tun
      [ -c "$node" ] || { mknod "$node" c 10 200 && chown "$user" "$node" && chmod 0600 "$node"; } || return 1
      pre=(sh -c 'mount --bind "$0" /dev/net/tun && exec "$@"' "$node")
    fi
    pre+=(setpriv --reuid="${user%%:*}" --regid="${user##*:}" --clear-groups --inh-caps=-all,"$sp"
          --ambient-caps=-all,"$sp" --bounding-set=-all,"$sp" --no-new-privs)
  elif [ -n "$user" ]; then
    pre=(setpriv --reuid="${user%%:*}" --regid="${user##*:}" --clear-groups --inh-caps=-all
         --ambient-caps=-all --bounding-set=-all --no-new-privs)
  fi
  lab_bg cloud "$logf" "${pre[@]}" "$bin" run -c "$SWANLESS_CONF"
  LAB_SWANLESS_PID=$LAB_BG_PID
  if ! wait_for "[ -S '$SWANLESS_SOCK' ] || ! kill -0 $LAB_SWANLESS_PID" 10 \
     || ! kill -0 "$LAB_SWANLESS_PID" 2>/dev/null; then
    echo "cloud_swanless_start: swanless did not start:" >&2; tail -n 30 "$logf" >&2; return 1
  fi
}

# cloud_swanless_status [--json]: `swanless status` of the running swanless (as root).
cloud_swanless_status() { nsx cloud "$(readlink -f "$SWANLESS")" status "$@" --socket "$SWANLESS_SOCK"; }

# cloud_swanless_up [cloud_swanless_conf OPTIONS]: swanless in cloud with the seed's
# configuration mapped to the lab's addresses (binary: $SWANLESS).
cloud_swanless_up() {
  cloud_base || return 1
  cloud_swanless_conf "$@" || return 1
  cloud_swanless_start
}

# lab_up [--cloud standin|swanless|none] [--keepalive N]: the whole lab. Needs lab_init
# first (lab.sh up does it).
lab_up() {
  local cloud=none ka=10
  while [ $# -gt 0 ]; do
    case $1 in
      --cloud) cloud=$2; shift 2 ;;
      --keepalive) ka=$2; shift 2 ;;
      *) echo "lab_up: unknown option $1" >&2; return 1 ;;
    esac
  done
  [ -n "$LAB_DIR" ] || { echo "lab_up: call lab_init first" >&2; return 1; }
  lab_topology || { echo "lab_up: topology failed" >&2; return 1; }
  dc_up "$ka" || { echo "lab_up: dc side failed" >&2; return 1; }
  case $cloud in
    none) ;;
    standin) standin_up || { echo "lab_up: stand-in failed" >&2; return 1; } ;;
    swanless) cloud_swanless_up || { echo "lab_up: swanless failed" >&2; return 1; } ;;
    *) echo "lab_up: --cloud standin|swanless|none" >&2; return 1 ;;
  esac
  LAB_CLOUD_MODE=$cloud
}

# lab_down: remove the lab (what lib.sh's trap does at exit, callable earlier).
lab_down() { lab_stop_all 5; lab_teardown; }

# ---------------------------------------------------------------------------------------
# traffic and state

# start_source RATE SECONDS [SIZE]: multicast sender in src (tracked); result JSON in
# $LAB_DIR/source.json when done.
start_source() {
  local rate=$1 secs=$2 size=${3:-200}
  rm -f "$LAB_DIR/source.json"
  lab_bg src "$LAB_DIR/source.log" python3 "$LAB_HERE/mcast_sender.py" --group "$LAB_GROUP" \
    --port "$LAB_PORT" --rate "$rate" --seconds "$secs" --size "$size" --ttl 16 \
    --iface-addr "$LAB_SRC_ADDR" --status "$LAB_DIR/source.json"
  LAB_SOURCE_PID=$LAB_BG_PID
}

# start_source_ab RATE SECONDS [SIZE]: like start_source, but every datagram goes out both
# of src's links, the same bytes (mcast_sender.py --also-iface-addr): eth0 to dc (the A
# feed, source $LAB_SRC_ADDR) and eth1 to dc2 (the B feed, source $LAB_SRC_ADDR2). Needs
# dc2_up. Result JSON in $LAB_DIR/source.json.
start_source_ab() {
  local rate=$1 secs=$2 size=${3:-200}
  rm -f "$LAB_DIR/source.json"
  lab_bg src "$LAB_DIR/source.log" python3 "$LAB_HERE/mcast_sender.py" --group "$LAB_GROUP" \
    --port "$LAB_PORT" --rate "$rate" --seconds "$secs" --size "$size" --ttl 16 \
    --iface-addr "$LAB_SRC_ADDR" --also-iface-addr "$LAB_SRC_ADDR2" --status "$LAB_DIR/source.json"
  LAB_SOURCE_PID=$LAB_BG_PID
}

# wait_source [TIMEOUT]: wait for the sender to finish; print its result.
wait_source() {
  wait_for "[ -s '$LAB_DIR/source.json' ]" "${1:-60}" || return 1
  cat "$LAB_DIR/source.json"
}

# warm_up [TIMEOUT] NAME...: send warm-up datagrams (mcast_sender.py --warmup, 200/s, which
# the receivers count apart) until every receiver NAME has seen some, then stop them and
# let the tail drain. Makes FRR and the dc kernel build the (S,G) forwarding entry (whose
# first datagrams are lost) before a counted stream. Fails after TIMEOUT (default 15) s.
warm_up() {
  local timeout=15
  [[ ${1:-} =~ ^[0-9]+$ ]] && { timeout=$1; shift; }
  local cond="true" n
  for n in "$@"; do cond+=" && [ \"\$(json_get '$LAB_DIR/$n.json' warmup)\" -gt 0 ]"; done
  lab_bg src "$LAB_DIR/warmup.log" python3 "$LAB_HERE/mcast_sender.py" --warmup --group "$LAB_GROUP" \
    --port "$LAB_PORT" --rate 200 --seconds "$timeout" --size 200 --ttl 16 \
    --iface-addr "$LAB_SRC_ADDR" --status "$LAB_DIR/warmup.json"
  local wpid=$LAB_BG_PID rc=0
  wait_for "$cond" "$timeout" || rc=1
  sleep 0.3
  kill -TERM "$wpid" 2>/dev/null
  wait_for "[ -s '$LAB_DIR/warmup.json' ]" 3
  sleep 0.5
  return $rc
}

# start_receiver [PORT] [GROUP] [IFNAME] [NAME]: mcast_receiver.py in cloud (tracked),
# status in $LAB_DIR/NAME.json (NAME default rx). GROUP "-" binds the port only (for
# swanless's udp: delivery).
start_receiver() {
  local port=${1:-$LAB_PORT} group=${2:-$LAB_GROUP} ifn=${3:-gre1} name=${4:-rx}
  local -a g=()
  [ "$group" != - ] && g=(--group "$group" --ifname "$ifn")
  lab_bg cloud "$LAB_DIR/$name.log" python3 "$LAB_HERE/mcast_receiver.py" --port "$port" "${g[@]}" \
    --status "$LAB_DIR/$name.json"
  wait_log "$LAB_DIR/$name.log" "mcast_receiver: port" 15 \
    || { echo "start_receiver: did not start:" >&2; cat "$LAB_DIR/$name.log" >&2; return 1; }
  # first status written right after start
  wait_for "[ -s '$LAB_DIR/$name.json' ]" 10
}

# start_receiver_on IFNAME NAME [PORT]: mcast_receiver.py in cloud joined on IFNAME and
# bound to it (SO_BINDTODEVICE), so that receivers on gre1 and gre2 with the same port
# each count only their own tunnel's copies. Status in $LAB_DIR/NAME.json.
start_receiver_on() {
  local ifn=$1 name=$2 port=${3:-$LAB_PORT}
  lab_bg cloud "$LAB_DIR/$name.log" python3 "$LAB_HERE/mcast_receiver.py" --port "$port" \
    --group "$LAB_GROUP" --ifname "$ifn" --device "$ifn" --status "$LAB_DIR/$name.json"
  wait_log "$LAB_DIR/$name.log" "mcast_receiver: port" 15 \
    || { echo "start_receiver_on: did not start:" >&2; cat "$LAB_DIR/$name.log" >&2; return 1; }
  wait_for "[ -s '$LAB_DIR/$name.json' ]" 10
}

# receiver_stats [NAME]: the receiver's JSON status.
receiver_stats() { cat "$LAB_DIR/${1:-rx}.json"; }

# frr_show CMD: vtysh CMD on the dc router; frr2_show CMD: on the dc2 router;
# frr_show_at ROUTER CMD: on FRR ROUTER (dc, dc2).
frr_show() { frr_vtysh dc "$@"; }
frr2_show() { frr_vtysh dc2 "$@"; }
frr_show_at() { frr_vtysh "$@"; }

# gre_status dc|cloud: JSON counters of that GRE endpoint.
gre_status() { cat "$LAB_DIR/gre-$1.json"; }

# gre_keepalive_counts: "SENT REPLIES" of the dc GRE endpoint's keepalives.
gre_keepalive_counts() {
  echo "$(json_get "$LAB_DIR/gre-dc.json" ka_tx) $(json_get "$LAB_DIR/gre-dc.json" ka_rx)"
}

dc_sas() { charon_list_sas dc dc; }
dc2_sas() { charon_list_sas dc2 dc2; }
cloud_sas() { charon_list_sas cloud cloud; }

# pim_neighbor_up ADDR IFACE: FRR (dc) has ADDR as a PIM neighbor on IFACE;
# pim_neighbor_up_at ROUTER ADDR IFACE: the same on FRR ROUTER (dc, dc2).
pim_neighbor_up() { pim_neighbor_up_at dc "$@"; }
pim_neighbor_up_at() {
  frr_vtysh "$1" "show ip pim neighbor" 2>/dev/null | awk -v a="$2" -v i="$3" '$1 == i && $2 == a { f = 1 } END { exit !f }'
}

# pim_join_on GROUP IFACE: FRR (dc) has a (*,G) join for GROUP on IFACE, state JOIN;
# pim_join_on_at ROUTER GROUP IFACE: the same on FRR ROUTER (dc, dc2).
pim_join_on() { pim_join_on_at dc "$@"; }
pim_join_on_at() {
  frr_vtysh "$1" "show ip pim join" 2>/dev/null | awk -v g="$2" -v i="$3" '$1 == i && $3 == "*" && $4 == g && $5 == "JOIN" { f = 1 } END { exit !f }'
}

# lab_demo: the lab with swanless in cloud, a 10/s multicast source and two receivers (a
# socket joined on swanless's gre1, deliver=tun; the deliver=udp socket), then every 2 s
# the receivers' counts, FRR's (*,G) state and `swanless status`, until Ctrl-C (SIGINT) or
# SIGTERM, which tears everything down. Builds nothing: runs $SWANLESS.
_demo_stop() {
  trap '' INT TERM
  echo
  echo "[demo] $1: tearing the lab down"
  lab_down
  echo "[demo] lab removed (no namespace, no process left)"
  exit 0
}
_demo_frr_joins() {
  frr_show 'show ip pim join' 2>/dev/null | awk '$3 == "*" { printf "%s (*,%s) %s  ", $1, $4, $5 }'
}
lab_demo() {
  local bin; bin=$(readlink -f "$SWANLESS" 2>/dev/null)
  [ -x "$bin" ] || { echo "lab.sh demo: no swanless binary at $SWANLESS (set SWANLESS=)" >&2; return 2; }
  lab_init demo
  trap '_demo_stop interrupted' INT
  trap '_demo_stop terminated' TERM
  echo "[demo] building the lab (namespaces cloud, nat, dc, src; charon, FRR, swanless) ..."
  lab_up --cloud swanless || { fail "lab up"; return 1; }
  echo "[demo] waiting for FRR to see swanless's (*,$LAB_GROUP) join on gre1 ..."
  wait_for "pim_join_on $LAB_GROUP gre1" 30 || echo "[demo] no join yet; going on"
  start_receiver "$LAB_PORT" "$LAB_GROUP" gre1 rx || return 1
  start_receiver $((LAB_PORT + 1)) - "" rxudp || return 1
  start_source 10 86400 200
  echo "[demo] source $LAB_SRC_ADDR -> $LAB_GROUP:$LAB_PORT at 10/s; Ctrl-C ends the demo"
  if [ "$LAB_DC_MCAST" = kernel ]; then
    echo "[demo] the dc forwards multicast with the kernel (multicast routing programmed by FRR's pimd)"
  else
    echo "[demo] the dc forwards multicast in user space: this kernel ($(uname -r)) has no IPv4"
    echo "[demo] multicast routing, so tests/lab/mcast_forwarder.py forwards src0 -> gre1 while FRR holds the join"
  fi
  local t0 t rx rxl udp udpl joins
  t0=$(now_ms)
  while :; do
    sleep 2
    t=$(now_ms)
    t=$(( (t - t0) / 1000 ))
    rx=$(json_get "$LAB_DIR/rx.json" unique)
    rxl=$(json_get "$LAB_DIR/rx.json" lost)
    udp=$(json_get "$LAB_DIR/rxudp.json" unique)
    udpl=$(json_get "$LAB_DIR/rxudp.json" lost)
    joins=$(_demo_frr_joins)
    echo
    echo "===== ${t}s  multicast received: deliver=tun ${rx:-0} (lost ${rxl:-0})  deliver=udp ${udp:-0} (lost ${udpl:-0})"
    echo "----- FRR on the dc: ${joins:-no (*,G) join}; dc forwarding: $LAB_DC_MCAST${LAB_FWD_DC_PID:+ (forwarded $(dc_forwarder_stat forwarded))}"
    cloud_swanless_status 2>&1
  done
}

# lab_print_info: namespaces and how to use them.
lab_print_info() {
  cat <<EOF
lab $LAB_PREFIX is up (cloud: ${LAB_CLOUD_MODE:-none}); files in $LAB_DIR
namespaces:
  cloud  $(lab_ns cloud)   VM: $LAB_CLOUD_PRIV (eth0), inner $LAB_CLOUD_GRE, $LAB_CLOUD_HOST, gre1 $LAB_CLOUD_TUN
  nat    $(lab_ns nat)   1:1 NAT $LAB_CLOUD_PRIV <-> $LAB_NAT_PUB, router $LAB_NAT_WAN
  dc     $(lab_ns dc)   VPN gw $LAB_DC_GW, GRE $LAB_DC_GRE, gre1 $LAB_DC_TUN, RP $LAB_RP, host $LAB_DC_HOST
  src    $(lab_ns src)   multicast source $LAB_SRC_ADDR -> $LAB_GROUP:$LAB_PORT
dc multicast forwarding: ${LAB_DC_MCAST:-?}$([ "${LAB_DC_MCAST:-}" = userspace ] && echo " (mcast_forwarder.py; counters in $LAB_DIR/fwd-dc.json)")
exec into one:     sudo ip netns exec $(lab_ns dc) bash
PIM state:         sudo vtysh --vty_socket ${LAB_FRR_DIR[dc]:-?} -c 'show ip pim join'
dc SAs:            sudo ip netns exec $(lab_ns dc) env STRONGSWAN_CONF=$LAB_DIR/dc/strongswan.conf swanctl --list-sas --uri unix://$LAB_DIR/dc.vici
multicast source:  sudo ip netns exec $(lab_ns src) python3 $LAB_HERE/mcast_sender.py --rate 100 --seconds 10 --iface-addr $LAB_SRC_ADDR
receiver in cloud: sudo ip netns exec $(lab_ns cloud) python3 $LAB_HERE/mcast_receiver.py --group $LAB_GROUP --ifname gre1 --seconds 15
GRE counters:      cat $LAB_DIR/gre-dc.json
tear down:         sudo $LAB_HERE/lab.sh down
EOF
}

# ---------------------------------------------------------------------------------------
# command line

lab_main() {
  local cmd=${1:-}; shift || true
  case $cmd in
    up)
      if [ -f "$LAB_STATE" ]; then
        echo "lab.sh: a lab is already up ($LAB_STATE); run 'lab.sh down' first" >&2; return 1
      fi
      lab_init lab
      lab_keeper_start
      if ! lab_up "$@"; then fail "lab up"; return 1; fi
      lab_persist "$LAB_STATE" LAB_CLOUD_MODE LAB_DC_MCAST SWANLESS SWANLESS_CONF SWANLESS_SOCK SWANLESS_KEYS
      lab_print_info
      ;;
    down)
      [ -f "$LAB_STATE" ] || { echo "lab.sh: no lab up ($LAB_STATE missing)" >&2; return 0; }
      [ "$(id -u)" -eq 0 ] || { echo "lab.sh down: needs root" >&2; return 2; }
      lab_restore "$LAB_STATE"
      lab_stop_all 5
      lab_teardown
      rm -f "$LAB_STATE"
      echo "lab $LAB_PREFIX removed"
      ;;
    demo)
      lab_demo "$@"
      ;;
    status)
      [ -f "$LAB_STATE" ] || { echo "no lab up"; return 1; }
      lab_restore "$LAB_STATE"
      LAB_TORN_DOWN=1   # never tear down from here
      lab_print_info
      echo "--- PIM neighbors / joins"; frr_show "show ip pim neighbor" "show ip pim join"
      echo "--- dc GRE"; gre_status dc; echo
      echo "--- dc SAs"; dc_sas
      if [ "${LAB_CLOUD_MODE:-}" = swanless ]; then echo "--- swanless status"; cloud_swanless_status; fi
      ;;
    *)
      echo "usage: $0 up [--cloud standin|swanless|none] [--keepalive N] | status | down | demo" >&2
      return 2 ;;
  esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  lab_main "$@"
  exit $?
fi
