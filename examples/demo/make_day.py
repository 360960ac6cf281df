#!/usr/bin/env python3
"""Writes day.ndjson: one scripted Monday at the example estate (examples/estate/).

The day is ordinary work for eleven people across two sites, with one scripted attack for
each default rule woven in. Each attack is marked in `attack` below and listed in
expected.json, so `seam demo` can show that every rule fired, and nothing else did.
Run `python3 examples/demo/make_day.py` after editing; the output is committed.
"""
import json
import os

DAY = "2026-03-02"
events = []
expected = {}
counter = [0]


def at(hhmmss):
    return f"{DAY}T{hhmmss}Z"


def emit(time, source, cls, activity, attack=None, **fields):
    counter[0] += 1
    event = {"uid": f"{source}-{counter[0]:05d}", "time": at(time), "source": source,
             "class": cls, "activity": activity}
    event.update(fields)
    events.append(event)
    if attack:
        expected.setdefault(attack, []).append(event["uid"])
    return event


def badge(time, badge_id, door, site="hq", used=True, attack=None, activity="granted", used_after=3):
    emit(time, f"pacs-{site}", "physical_access", activity, attack=attack,
         subject={"badge": badge_id}, door=door)
    if used and activity == "granted":
        h, m, s = (int(x) for x in time.split(":"))
        s += used_after
        m += s // 60
        s %= 60
        h += m // 60
        m %= 60
        emit(f"{h:02d}:{m:02d}:{s:02d}", f"pacs-{site}", "physical_access", "door_used",
             subject={"badge": badge_id}, door=door)


def wifi(time, mac, ap, attack=None, **extra):
    emit(time, "meraki", "network_session", "connect", attack=attack, outcome="success",
         medium="wifi", subject={"mac": mac}, ap=ap, **extra)


def signin(time, user, ip, attack=None, outcome="success", **extra):
    emit(time, "okta", "authentication", "logon", attack=attack, outcome=outcome,
         subject={"user": user}, src={"ip": ip, **extra.pop("src", {})}, **extra)


HQ_EGRESS = "198.51.100.10"
NYC_EGRESS = "203.0.113.10"

# --- Night before the day starts -------------------------------------------------------------
emit("00:30:00", "bms", "device_status", "online", asset="hq-door-ctrl")
signin("01:00:00", "svc-backup", "10.40.0.5", privileged=True, dst={"ip": "10.40.0.11", "host": "hq-db1"})
# 16: a contractor's VPN account used at three in the morning, local time.
emit("02:00:00", "globalprotect", "network_session", "connect", attack="seam.contractor-outside-window",
     outcome="success", medium="vpn", subject={"user": "frank@contractor.example.net", "ip": "10.99.0.40"},
     src={"ip": "192.0.2.90"})
emit("02:40:00", "globalprotect", "network_session", "disconnect", medium="vpn",
     subject={"user": "frank@contractor.example.net", "ip": "10.99.0.40"}, src={"ip": "192.0.2.90"})
# 6: a badge tested at a door at dawn: granted, and nobody goes through.
badge("06:30:00", "4414", "hq-office-door", used=False, attack="seam.badge-granted-nobody-entered")

# --- Morning arrivals at headquarters (Amsterdam is UTC+1) --------------------------------------
# 8: a dismissed employee's badge still opens the main door.
badge("07:10:00", "4415", "hq-main", attack="seam.inactive-person-credential")
badge("07:40:00", "4412", "hq-main")
badge("07:41:00", "4412", "hq-office-door")
emit("07:41:30", "dhcp", "dhcp", "assign", subject={"ip": "10.10.1.32", "mac": "3c:22:fb:00:00:02"}, until=at("19:41:30"))
wifi("07:42:00", "3c:22:fb:00:00:02", "hq-ap-office")
signin("07:43:00", "bob@example.com", HQ_EGRESS)

badge("07:50:00", "4411", "hq-main")
badge("07:51:00", "4411", "hq-office-door")
emit("07:52:00", "ise", "network_session", "connect", outcome="success", medium="wired",
     subject={"device": "hq-ws-alice", "ip": "10.10.1.21"}, switch_port="hq-sw1:Gi1/0/7")
emit("07:52:30", "dhcp", "dhcp", "assign", subject={"ip": "10.10.1.31", "mac": "3c:22:fb:00:00:01"}, until=at("19:52:30"))
wifi("07:53:00", "3c:22:fb:00:00:01", "hq-ap-office")
signin("07:55:00", "alice@example.com", HQ_EGRESS)

badge("08:10:00", "4413", "hq-main")
badge("08:11:00", "4413", "hq-office-door")
wifi("08:12:00", "3c:22:fb:00:00:03", "hq-ap-office")
signin("08:13:00", "carol@example.com", HQ_EGRESS)

badge("08:20:00", "4414", "hq-main")
badge("08:21:00", "4414", "hq-office-door")
wifi("08:22:00", "3c:22:fb:00:00:04", "hq-ap-office")
signin("08:23:00", "dan@example.com", HQ_EGRESS)

# Judy works from home today: VPN, then the IdP from her home address.
emit("08:00:00", "globalprotect", "network_session", "connect", outcome="success", medium="vpn",
     subject={"user": "judy@example.com", "ip": "10.99.0.41"}, src={"ip": "192.0.2.60"})
signin("08:01:00", "judy@example.com", "192.0.2.60")

badge("08:50:00", "V-100", "hq-main")
badge("08:55:00", "4416", "hq-main")
badge("08:56:00", "4416", "hq-office-door")
wifi("08:57:00", "3c:22:fb:00:00:06", "hq-ap-office")
signin("08:58:00", "frank@contractor.example.net", HQ_EGRESS)

badge("09:10:00", "V-100", "hq-meet-door")
wifi("09:11:00", "3c:22:fb:00:00:07", "hq-ap-orion")
badge("09:12:00", "4411", "hq-meet-door")

# 1: Alice is at her desk-side meeting, and her password signs in from abroad.
signin("09:15:00", "alice@example.com", "185.220.101.7", attack="seam.onsite-offsite-signin",
       src={"country": "Romania"})

# 7: Bob takes someone into the server room behind him: two counted, one badged.
badge("09:30:00", "4412", "hq-server-in")
emit("09:30:10", "bms", "occupancy", "count", attack="seam.tailgating-occupancy", zone="hq-server", count=2)
badge("09:50:00", "4412", "hq-server-out")
emit("09:50:10", "bms", "occupancy", "count", zone="hq-server", count=0)

emit("10:00:00", "fileserver", "resource_access", "read", subject={"user": "alice@example.com"},
     src={"ip": "10.10.1.31"}, app="hr-app", resource="hr-app")

# 8: a suspended employee's account signs in.
signin("10:05:00", "heidi@example.com", "192.0.2.10", attack="seam.inactive-person-credential")

# 9: Dan goes into the classified area; his workstation uploads 700 MB meanwhile.
badge("10:10:00", "4414", "hq-classified-in")
emit("10:30:00", "netflow", "network_activity", "traffic", attack="seam.exfil-owner-elsewhere",
     subject={"device": "hq-ws-dan", "ip": "10.10.1.24"}, dst={"ip": "203.0.113.200", "port": 443},
     bytes_out=734003200)
badge("11:00:00", "4414", "hq-classified-out")

# 14: Frank's laptop failed its posture check, then joins the Wi-Fi in the canteen.
emit("11:00:00", "mdm", "device_inventory", "posture", subject={"mac": "3c:22:fb:00:00:06", "device": "lt-frank"},
     compliant=False)
badge("11:58:00", "4416", "hq-cafe-door")
wifi("12:00:00", "3c:22:fb:00:00:06", "hq-ap-cafe", attack="seam.noncompliant-device-busy-zone")
badge("12:01:00", "4411", "hq-cafe-door")
wifi("12:02:00", "3c:22:fb:00:00:01", "hq-ap-cafe", compliant=True)

# 4: the visitor's badge opens the meeting room again after her visit ended.
badge("12:30:00", "V-100", "hq-meet-door", attack="seam.visitor-overstay")

# --- New York (UTC-5) ---------------------------------------------------------------------------
badge("13:00:00", "4418", "nyc-main", site="nyc")
badge("13:01:00", "4418", "nyc-office-door", site="nyc")
wifi("13:02:00", "3c:22:fb:00:00:09", "nyc-ap-office")
signin("13:03:00", "ivan@example.com", NYC_EGRESS)

# 5: Judy booked Orion for one o'clock, and "she" signs in from outside during the meeting.
emit("13:00:00", "rooms", "booking", "booked", subject={"user": "judy@example.com"}, zone="hq-meet-orion",
     until=at("14:00:00"))
signin("13:20:00", "judy@example.com", "192.0.2.61", attack="seam.booked-room-remote-signin",
       src={"country": "Netherlands"})

# 2: Carol's badge, cloned, opens the New York door while she has been in Amsterdam all day.
badge("11:00:00", "4413", "nyc-main", site="nyc", attack="seam.impossible-travel")

# 15: Bob's badge is passed back: the server room entered twice without leaving.
badge("15:00:00", "4412", "hq-server-in")
emit("15:00:10", "bms", "occupancy", "count", zone="hq-server", count=1)
badge("15:02:00", "4412", "hq-server-in", attack="seam.anti-passback")
badge("15:20:00", "4412", "hq-server-out")
emit("15:20:10", "bms", "occupancy", "count", zone="hq-server", count=0)

# 7: Judy's laptop joins the office Wi-Fi, though she is at home and never badged in.
wifi("15:30:00", "3c:22:fb:00:00:0a", "hq-ap-office", attack="seam.wifi-without-badge")

# 17: Ivan is still at home on the VPN when "his" badge opens the New York door; he drives in
# later, after ending the VPN session.
emit("11:00:00", "globalprotect", "network_session", "connect", outcome="success", medium="vpn",
     subject={"user": "ivan@example.com", "ip": "10.99.0.50"}, src={"ip": "192.0.2.70"})
badge("11:40:00", "4418", "nyc-main", site="nyc", attack="seam.badge-while-remote")
emit("12:20:00", "globalprotect", "network_session", "disconnect", medium="vpn",
     subject={"user": "ivan@example.com", "ip": "10.99.0.50"}, src={"ip": "192.0.2.70"})

# 13: Ivan's badge denied again and again, and his password failing in the same minutes.
for minute in range(3):
    badge(f"16:0{minute}:00", "4418", "nyc-office-door", site="nyc", activity="denied",
          attack="seam.badge-and-signin-failure-burst")
for second in range(5):
    signin(f"16:05:{second * 10:02d}", "ivan@example.com", "185.220.101.33", outcome="failure",
           attack="seam.badge-and-signin-failure-burst")

# --- Evening ------------------------------------------------------------------------------------
# 3: Bob, at home on the VPN, opens the payroll share that requires being on site.
emit("19:40:00", "globalprotect", "network_session", "connect", outcome="success", medium="vpn",
     subject={"user": "bob@example.com", "ip": "10.99.0.12"}, src={"ip": "192.0.2.33"})
emit("19:45:00", "fileserver", "resource_access", "read", attack="seam.onsite-resource-offsite",
     subject={"user": "bob@example.com"}, src={"ip": "10.99.0.12"}, resource="payroll-share")
emit("20:15:00", "globalprotect", "network_session", "disconnect", medium="vpn",
     subject={"user": "bob@example.com", "ip": "10.99.0.12"}, src={"ip": "192.0.2.33"})

# 10: a drop box on the empty meeting room's port, and a device cycling MACs on another.
emit("21:00:00", "ise", "network_session", "connect", attack="seam.rogue-device-empty-zone",
     outcome="success", medium="wired", subject={"mac": "b8:27:eb:12:34:56"}, switch_port="hq-sw1:Gi1/0/5")
for index in range(5):
    emit(f"21:3{index}:00", "ise", "network_session", "connect", attack="seam.wired-nac-failures",
         outcome="failure", medium="wired", subject={"mac": f"b8:27:eb:00:00:0{index + 1}"},
         switch_port="hq-sw1:Gi1/0/7")

# 12: Bob back after hours: the server room, then root on the database server in it.
badge("22:25:00", "4412", "hq-main")
badge("22:26:00", "4412", "hq-office-door")
badge("22:30:00", "4412", "hq-server-in", attack="seam.after-hours-server-room-privileged")
emit("22:41:00", "linux-auth", "authentication", "logon", attack="seam.after-hours-server-room-privileged",
     outcome="success", privileged=True, subject={"user": "bob"}, dst={"ip": "10.40.0.11", "host": "hq-db1"})
badge("22:55:00", "4412", "hq-server-out")

# 8: any badge at the decommissioned warehouse.
badge("22:10:00", "4414", "old-main", site="old", attack="seam.decommissioned-site-badge")

# 11: the server-room controller goes offline, then the server-room door is forced.
emit("23:00:00", "bms", "device_status", "offline", asset="hq-door-ctrl")
emit("23:04:00", "pacs-hq", "physical_access", "forced", attack="seam.controller-down-door-forced",
     door="hq-server-in")
emit("23:30:00", "bms", "device_status", "online", asset="hq-door-ctrl")
# The PACS server's last heartbeat closes the day.
emit("23:59:00", "bms", "device_status", "online", asset="hq-pacs")

events.sort(key=lambda e: (e["time"], e["uid"]))
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "day.ndjson"), "w") as out:
    for event in events:
        out.write(json.dumps(event, separators=(",", ":")) + "\n")
with open(os.path.join(here, "expected.json"), "w") as out:
    json.dump(dict(sorted(expected.items())), out, indent=2)
    out.write("\n")
print(f"{len(events)} events, {len(expected)} attacked rules")
