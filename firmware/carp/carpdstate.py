"""carpd's state as `carpd leases` sees it: the status file carpd replaces
on every transition, looked at twice a second and parsed only when it is
another file than last time."""
import json
import os


class CarpdState:
    def __init__(self, path, name):
        self.path = path
        self.name = name  # the vhid's section name
        self.stamp = None  # the file last parsed
        self.is_master = False  # what it said
        self.held = None  # that file, open (see master)

    def master(self, cached=False):
        """Is the vhid MASTER (so our dnsmasq serves)? cached: the last
        answer while the file is the same one."""
        now = stamp(self.path)
        if cached and now is not None and now == self.stamp:
            return self.is_master
        held, self.stamp = open_stamped(self.path)
        if self.held is not None:
            self.held.close()
        # Held open until the next read: while it is, its inode number cannot
        # be given to a new file, so an equal stamp means the same file. (On
        # ext4 carpd's writes alternate two inodes; two within one second of
        # one size would otherwise look like none.)
        self.held = held
        self.is_master = False
        try:
            doc = json.loads((held.read() if held is not None else "") or "{}")
        except ValueError:
            return False
        for v in doc.get("vhids") or ():
            if v.get("name") == self.name:
                self.is_master = v.get("state") == "MASTER"
                break
        return self.is_master


def stamp(path):
    """Tells one version of a file from another: inode (a file replaced by
    rename is a new one), size and mtime."""
    try:
        st = os.stat(path)
        return (st[1], st[6], st[8])
    except OSError:
        return None


def open_stamped(path):
    """-> (path opened, its stamp), or (None, None). The stamp is taken
    before and after the open, so it is the opened file's; (file, None)
    when the file kept being replaced: the next look reads it again."""
    tries = 3
    while tries:
        tries -= 1
        before = stamp(path)
        try:
            f = open(path)
        except OSError:
            return None, None
        if before is not None and stamp(path) == before:
            return f, before
        if not tries:
            return f, None
        f.close()
