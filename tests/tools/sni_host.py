#!/usr/bin/python3
"""A minimal StatusNotifierItem host for checking Startup Medic's tray where no desktop runs.

It owns org.kde.StatusNotifierWatcher on the session bus, waits for the app's tray item to
register, prints the item's title, tooltip and icon colour (centre-left pixel), reads its menu
(com.canonical.dbusmenu) and, when asked, "clicks" menu entries by label, printing what it sees
after each. Needs Debian's python3-dbus and python3-gi (system python: /usr/bin/python3).

    dbus-run-session -- sh -c '/usr/bin/python3 tests/tools/sni_host.py --click "Show/Hide" & \
        sleep 1; DISPLAY=:99 target/release/startup-medic'
"""

import argparse
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

WATCHER = "org.kde.StatusNotifierWatcher"


def log(*parts):
    print("sni-host:", *parts, flush=True)


class Watcher(dbus.service.Object):
    def __init__(self, bus, on_item):
        self.items = []
        self.on_item = on_item
        super().__init__(dbus.service.BusName(WATCHER, bus), "/StatusNotifierWatcher")

    @dbus.service.method(WATCHER, in_signature="s", sender_keyword="sender")
    def RegisterStatusNotifierItem(self, service, sender=None):
        if service.startswith("/"):
            name, path = sender, service
        else:
            name, path = service, "/StatusNotifierItem"
        self.items.append(f"{name}{path}")
        GLib.idle_add(self.on_item, name, path)

    @dbus.service.method(WATCHER, in_signature="s")
    def RegisterStatusNotifierHost(self, service):
        pass

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss", out_signature="v")
    def Get(self, interface, prop):
        return self.GetAll(interface)[prop]

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return {
            "RegisteredStatusNotifierItems": dbus.Array(self.items, signature="s"),
            "IsStatusNotifierHostRegistered": True,
            "ProtocolVersion": dbus.Int32(0),
        }


def icon_colour(item):
    pixmaps = item.Get("org.kde.StatusNotifierItem", "IconPixmap", dbus_interface=dbus.PROPERTIES_IFACE)
    if not pixmaps:
        return None
    w, h, data = pixmaps[0]
    data = bytes(data)
    i = ((h // 2) * w + 3) * 4  # centre row, a few pixels in from the left: the disc, not the cross
    a, r, g, b = data[i : i + 4]  # SNI pixmaps are ARGB32 in network byte order
    return (int(r), int(g), int(b))


def menu_entries(bus, name, item):
    menu_path = item.Get("org.kde.StatusNotifierItem", "Menu", dbus_interface=dbus.PROPERTIES_IFACE)
    menu = dbus.Interface(bus.get_object(name, menu_path), "com.canonical.dbusmenu")
    _, layout = menu.GetLayout(0, -1, ["label"])
    entries = {}
    for child in layout[2]:
        cid, props, _ = child
        if "label" in props:
            entries[str(props["label"]).replace("_", "")] = int(cid)
    return menu, entries


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--click", action="append", default=[], help="menu label to click (in order)")
    ap.add_argument("--interval", type=float, default=3.0, help="seconds between clicks")
    ap.add_argument("--watch", type=float, default=60.0, help="seconds to keep printing the icon colour")
    args = ap.parse_args()

    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    loop = GLib.MainLoop()

    def on_item(name, path):
        item = bus.get_object(name, path)
        title = item.Get("org.kde.StatusNotifierItem", "Title", dbus_interface=dbus.PROPERTIES_IFACE)
        log("item registered:", name, path, "title:", str(title))
        menu, entries = menu_entries(bus, name, item)
        log("menu:", " | ".join(entries))
        clicks = list(args.click)

        def tick():
            log("icon colour:", icon_colour(item))
            return True

        def click():
            if not clicks:
                return False
            label = clicks.pop(0)
            log("click:", label)
            menu.Event(entries[label], "clicked", dbus.String("", variant_level=1), dbus.UInt32(0))
            return bool(clicks)

        tick()
        GLib.timeout_add(1000, tick)
        if clicks:
            GLib.timeout_add(int(args.interval * 1000), click)
        return False

    Watcher(bus, on_item)
    log("watcher up")
    GLib.timeout_add(int(args.watch * 1000), loop.quit)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
