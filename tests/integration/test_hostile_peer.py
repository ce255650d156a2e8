"""A hostile vhost-user frontend on one port must not hurt the switch or other ports.

The frontend here is written from the vhost-user specification (QEMU's
docs/interop/vhost-user.rst): malformed messages, a handshake abandoned half
way, and a complete handshake followed by a guest that fills its rings with
descriptors pointing outside its memory. After each case the switch must answer
on its control socket and frames between two well-behaved testpmd peers must
arrive exactly; at the end a well-behaved peer on the abused port works.
"""

import mmap
import os
import struct

import pytest

import nfvtest
from nfvtest import (BROADCAST, VHOST_USER_GET_FEATURES, VHOST_USER_GET_PROTOCOL_FEATURES,
                     VHOST_USER_GET_QUEUE_NUM, VHOST_USER_GET_VRING_BASE, VHOST_USER_HDR,
                     VHOST_USER_NEED_REPLY, VHOST_USER_SET_FEATURES, VHOST_USER_SET_MEM_TABLE,
                     VHOST_USER_SET_OWNER, VHOST_USER_SET_VRING_ADDR, VHOST_USER_SET_VRING_BASE,
                     VHOST_USER_SET_VRING_CALL, VHOST_USER_SET_VRING_KICK, VHOST_USER_SET_VRING_NUM,
                     VHOST_USER_VERSION, VhostUserFrontend)

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"
MAC_H = "02:00:00:00:00:0e"

VIRTIO_F_VERSION_1 = 1 << 32
VRING_DESC_F_NEXT = 1
VRING_DESC_F_INDIRECT = 4

REGION_SIZE = 2 << 20
REGION_UADDR = 0x7F0000000000  # the "frontend virtual address" of the region; any value works
QUEUE_SIZE = 256


def mem_table(regions) -> bytes:
    """VhostUserMemory: nregions, padding, then (gpa, size, uaddr, mmap_offset) per region."""
    out = struct.pack("<II", len(regions), 0)
    for r in regions:
        out += struct.pack("<QQQQ", *r)
    return out


def vring_state(index, num) -> bytes:
    return struct.pack("<II", index, num)


def vring_addr(index, desc, used, avail, flags=0, log=0) -> bytes:
    return struct.pack("<IIQQQQ", index, flags, desc, used, avail, log)


# --- the malformed-message cases ---------------------------------------------
# Each takes a connected frontend and abuses it; the connection is closed afterwards.


def bad_request_code(fe):
    fe.send(9999)
    fe.send(0)


def wrong_version_flags(fe):
    fe.send(VHOST_USER_GET_FEATURES, flags=0x2)


def set_features_short_payload(fe):
    fe.send(VHOST_USER_SET_FEATURES, b"\x01\x02\x03\x04")  # u64 expected


def vring_num_oversized_payload(fe):
    fe.send(VHOST_USER_SET_OWNER)
    fe.send(VHOST_USER_SET_VRING_NUM, vring_state(0, 256) + b"\xAA" * 92)


def size_field_larger_than_data(fe):
    fe.send(VHOST_USER_SET_FEATURES, struct.pack("<Q", 1), size=64)  # 56 bytes never come


def truncated_header(fe):
    fe.send_raw(VHOST_USER_HDR.pack(VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, 0)[:6])


def huge_size_field(fe):
    fe.send(VHOST_USER_GET_FEATURES, size=0xFFFFFFFF)
    fe.send_raw(b"\x00" * 4096)


def mem_table_without_fds(fe):
    fe.send(VHOST_USER_SET_OWNER)
    fe.send(VHOST_USER_SET_MEM_TABLE, mem_table([(0, REGION_SIZE, REGION_UADDR, 0)]))


def mem_table_too_many_regions(fe):
    fe.send(VHOST_USER_SET_OWNER)
    regions = [(i * REGION_SIZE, REGION_SIZE, REGION_UADDR + i * REGION_SIZE, 0) for i in range(64)]
    fe.send(VHOST_USER_SET_MEM_TABLE, mem_table(regions))


def mem_table_nregions_lies(fe):
    fe.send(VHOST_USER_SET_OWNER)
    fd = os.memfd_create("nfvit-guest")
    try:
        os.ftruncate(fd, REGION_SIZE)
        payload = struct.pack("<II", 0xFFFFFFFF, 0) + struct.pack("<QQQQ", 0, REGION_SIZE, REGION_UADDR, 0)
        fe.send(VHOST_USER_SET_MEM_TABLE, payload, fds=[fd])
    finally:
        os.close(fd)


def mem_table_region_beyond_file(fe):
    fe.send(VHOST_USER_SET_OWNER)
    fd = os.memfd_create("nfvit-guest")
    try:
        os.ftruncate(fd, 4096)  # the region claims 1 TiB at an offset past the end
        fe.send(VHOST_USER_SET_MEM_TABLE, mem_table([(0, 1 << 40, REGION_UADDR, 1 << 30)]), fds=[fd])
    finally:
        os.close(fd)


def vring_ops_out_of_range(fe):
    fe.send(VHOST_USER_SET_OWNER)
    fe.send(VHOST_USER_SET_VRING_NUM, vring_state(1000, 256))
    fe.send(VHOST_USER_SET_VRING_NUM, vring_state(0, 0xFFFFFFFF))
    fe.send(VHOST_USER_SET_VRING_ADDR, vring_addr(0xFFFF, 0x1000, 0x2000, 0x3000))
    fe.send(VHOST_USER_SET_VRING_BASE, vring_state(0xFFFFFFFF, 0))
    fe.send(VHOST_USER_GET_VRING_BASE, vring_state(0xFFFF, 0))
    fe.send(VHOST_USER_SET_VRING_KICK, struct.pack("<Q", 0))  # no fd although bit 8 (no-fd) is clear
    fe.send(VHOST_USER_SET_VRING_CALL, struct.pack("<Q", 0xFF))


def ring_addresses_before_mem_table(fe):
    fe.send(VHOST_USER_SET_OWNER)
    fe.send(VHOST_USER_SET_VRING_NUM, vring_state(0, QUEUE_SIZE))
    fe.send(VHOST_USER_SET_VRING_ADDR, vring_addr(0, 0xDEAD0000, 0xBEEF0000, 0xF00D0000))
    kick = os.eventfd(0)
    try:
        fe.send(VHOST_USER_SET_VRING_KICK, struct.pack("<Q", 0), fds=[kick])
    finally:
        os.close(kick)


def garbage_bytes(fe):
    fe.send_raw(os.urandom(8192))


def fds_on_a_message_that_takes_none(fe):
    fd = os.memfd_create("nfvit-junk")
    try:
        fe.send(VHOST_USER_SET_OWNER, fds=[fd, fd, fd, fd, fd, fd, fd, fd])
        fe.send(VHOST_USER_GET_FEATURES, fds=[fd])
    finally:
        os.close(fd)


def hang_up_after_features(fe):
    features = fe.get_u64(VHOST_USER_GET_FEATURES)
    assert features is not None, "the switch did not answer GET_FEATURES"
    fe.send(VHOST_USER_SET_OWNER)
    fe.get_u64(VHOST_USER_GET_PROTOCOL_FEATURES)
    fe.send(VHOST_USER_SET_FEATURES, struct.pack("<Q", features & VIRTIO_F_VERSION_1))


def hang_up_after_one_ring(fe):
    """Memory table and queue 0 set up (with kick/call fds), then the frontend vanishes."""
    features = fe.get_u64(VHOST_USER_GET_FEATURES)
    assert features is not None
    fe.send(VHOST_USER_SET_OWNER)
    fe.send(VHOST_USER_SET_FEATURES, struct.pack("<Q", features & VIRTIO_F_VERSION_1))
    guest = GuestMemory()
    try:
        fe.send(VHOST_USER_SET_MEM_TABLE, guest.table(), fds=[guest.fd])
        guest.setup_queue(fe, 0)
    finally:
        guest.close()


def need_reply_without_reply_ack(fe):
    fe.send(VHOST_USER_SET_OWNER, flags=VHOST_USER_VERSION | VHOST_USER_NEED_REPLY)
    fe.send(VHOST_USER_GET_QUEUE_NUM)


MALFORMED = [
    bad_request_code,
    wrong_version_flags,
    set_features_short_payload,
    vring_num_oversized_payload,
    size_field_larger_than_data,
    truncated_header,
    huge_size_field,
    mem_table_without_fds,
    mem_table_too_many_regions,
    mem_table_nregions_lies,
    mem_table_region_beyond_file,
    vring_ops_out_of_range,
    ring_addresses_before_mem_table,
    garbage_bytes,
    fds_on_a_message_that_takes_none,
    need_reply_without_reply_ack,
    hang_up_after_features,
    hang_up_after_one_ring,
]


class GuestMemory:
    """One memfd region shared with the switch, holding two split virtqueues and buffers.

    The region is `region_size` bytes for the switch (the SET_MEM_TABLE entry);
    the memfd behind it is `file_size` bytes, which a hostile frontend may make
    smaller. Rings and the buffers the tests use lie in the first 64 KiB (with
    16-entry rings, the rings alone fit in the first 4 KiB).
    """

    def __init__(self, region_size=REGION_SIZE, file_size=REGION_SIZE, queue_size=256):
        self.region_size = region_size
        self.queue_size = queue_size
        self.fd = os.memfd_create("nfvit-guest")
        os.ftruncate(self.fd, file_size)
        self.mem = mmap.mmap(self.fd, min(file_size, 0x10000))
        self.kick = {}
        self.call = {}
        # per queue: descriptor table, avail ring, used ring (vring layout, virtio 1.x 2.7)
        n = queue_size
        need = 16 * n + 6 + 2 * n + 4 + 6 + 8 * n  # descriptors, avail ring, padding, used ring
        self.block = (need + 0x3FF) & ~0x3FF
        self.buffers = 2 * self.block  # guest-physical address of the first packet buffer

    def table(self) -> bytes:
        return mem_table([(0, self.region_size, REGION_UADDR, 0)])

    def desc_off(self, q):
        return q * self.block

    def avail_off(self, q):
        return self.desc_off(q) + 16 * self.queue_size

    def used_off(self, q):
        return (self.avail_off(q) + 6 + 2 * self.queue_size + 3) & ~3

    def setup_queue(self, fe, q):
        fe.send(VHOST_USER_SET_VRING_NUM, vring_state(q, self.queue_size))
        fe.send(VHOST_USER_SET_VRING_BASE, vring_state(q, 0))
        fe.send(VHOST_USER_SET_VRING_ADDR, vring_addr(q, REGION_UADDR + self.desc_off(q),
                                                      REGION_UADDR + self.used_off(q),
                                                      REGION_UADDR + self.avail_off(q)))
        self.call[q] = os.eventfd(0)
        self.kick[q] = os.eventfd(0)
        fe.send(VHOST_USER_SET_VRING_CALL, struct.pack("<Q", q), fds=[self.call[q]])
        fe.send(VHOST_USER_SET_VRING_KICK, struct.pack("<Q", q), fds=[self.kick[q]])

    def handshake(self, fe):
        """A complete, well-formed handshake (no protocol features, split rings)."""
        features = fe.get_u64(VHOST_USER_GET_FEATURES)
        assert features is not None and features & VIRTIO_F_VERSION_1, f"features: {features}"
        fe.send(VHOST_USER_SET_OWNER)
        fe.send(VHOST_USER_SET_FEATURES, struct.pack("<Q", VIRTIO_F_VERSION_1))
        fe.send(VHOST_USER_SET_MEM_TABLE, self.table(), fds=[self.fd])
        self.setup_queue(fe, 0)  # guest rx: the switch writes frames here
        self.setup_queue(fe, 1)  # guest tx: the switch reads frames here

    def write_desc(self, q, i, addr, length, flags=0, next_=0):
        struct.pack_into("<QIHH", self.mem, self.desc_off(q) + 16 * i, addr, length, flags, next_)

    def write(self, gpa, data: bytes):
        self.mem[gpa:gpa + len(data)] = data

    def publish(self, q, heads):
        """Puts descriptor heads in the avail ring, moves its idx past them, kicks."""
        base = self.avail_off(q)
        (idx,) = struct.unpack_from("<H", self.mem, base + 2)
        for h in heads:
            struct.pack_into("<H", self.mem, base + 4 + 2 * (idx % self.queue_size), h)
            idx = (idx + 1) & 0xFFFF
        struct.pack_into("<H", self.mem, base + 2, idx)
        os.eventfd_write(self.kick[q], 1)

    def set_avail_idx(self, q, idx):
        struct.pack_into("<H", self.mem, self.avail_off(q) + 2, idx & 0xFFFF)
        os.eventfd_write(self.kick[q], 1)

    def used_idx(self, q) -> int:
        return struct.unpack_from("<H", self.mem, self.used_off(q) + 2)[0]

    def close(self):
        self.mem.close()
        os.close(self.fd)
        for fd in list(self.kick.values()) + list(self.call.values()):
            os.close(fd)


@pytest.fixture
def topology(lab):
    sw = lab.switch([
        {"name": "a", "type": "vhost-user", "path": lab.path("a.sock")},
        {"name": "b", "type": "vhost-user", "path": lab.path("b.sock")},
        {"name": "h", "type": "vhost-user", "path": lab.path("h.sock")},
    ])
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A)
    b = lab.testpmd("B", lab.path("b.sock"), MAC_B)
    sw.wait_link(["a", "b"])
    n = b.send(1)  # B's MAC is learnt: A->B unicast stays off the hostile port
    assert a.wait_rx(n) == n
    return sw, a, b


def switch_gone(sw, what, err) -> AssertionError:
    try:
        sw.proc.wait(timeout=3)
    except Exception:
        pass
    return AssertionError(f"the switch stopped answering after {what} ({err}); "
                          f"exit status {sw.proc.poll()}:\n{sw.log()[-2000:]}")


def assert_switch_healthy(sw, a, b, what):
    try:
        status = sw.call("switch.status")
    except OSError as e:
        raise switch_gone(sw, what, e) from None
    assert sw.alive(), f"the switch died ({what}):\n{sw.log()[-3000:]}"
    assert status["ports"] == 3, f"after {what}: {status}"
    before = b.rx_packets()
    n = a.send(1, to=MAC_B)
    got = b.wait_rx(before + n, timeout=3, settle=0.05) - before
    if not sw.alive():
        raise switch_gone(sw, what, "it died while forwarding")
    assert got == n, f"after {what}: B received {got} of {n} frames"


@pytest.mark.timeout(120)
def test_malformed_messages_leave_the_switch_working(lab, topology):
    sw, a, b = topology
    closed = {}
    for case in MALFORMED:
        fe = VhostUserFrontend(lab.path("h.sock"))
        try:
            case(fe)
            closed[case.__name__] = fe.closed_by_peer(timeout=0.3)
        except (BrokenPipeError, ConnectionResetError):
            closed[case.__name__] = True
        finally:
            fe.close()
        assert_switch_healthy(sw, a, b, case.__name__)
    # The abused port did not come up on any of these.
    assert sw.port("h")["link"] == "down"
    print("backend closed the connection:", closed)


# --- a guest that completes the handshake, then abuses its rings -----------

VIRTIO_NET_HDR_LEN = 12  # virtio 1.x net header (num_buffers included), virtio 1.x 5.1.6
VRING_DESC_F_WRITE = 2


def frame_from(src: str, dst: str = BROADCAST) -> bytes:
    """A minimal 60-byte Ethernet frame."""
    return bytes.fromhex(dst.replace(":", "") + src.replace(":", "")) + b"\x08\x00" + bytes(46)


def tx_outside_memory(g):
    g.write_desc(1, 1, 0xFFFF_FFFF_0000, 1500)
    g.publish(1, [1])


def tx_longer_than_memory(g):
    g.write_desc(1, 1, g.buffers, 0x7FFF_FFFF)
    g.publish(1, [1])


def tx_chain_loops_on_itself(g):
    g.write_desc(1, 1, g.buffers, 64, VRING_DESC_F_NEXT, 1)
    g.publish(1, [1])


def tx_next_out_of_range(g):
    g.write_desc(1, 1, g.buffers, 64, VRING_DESC_F_NEXT, 1000)
    g.publish(1, [1])


def tx_indirect_table_outside_memory(g):
    g.write_desc(1, 1, 0xFFFF_0000_0000, 17, VRING_DESC_F_INDIRECT)
    g.publish(1, [1])


def tx_indirect_table_loops(g):
    table = g.buffers + 0x200
    struct.pack_into("<QIHH", g.mem, table, g.buffers, 64, VRING_DESC_F_NEXT, 1)
    struct.pack_into("<QIHH", g.mem, table + 16, g.buffers, 64, VRING_DESC_F_NEXT, 0)
    g.write_desc(1, 1, table, 32, VRING_DESC_F_INDIRECT)
    g.publish(1, [1])


def tx_zero_length(g):
    g.write_desc(1, 1, g.buffers, 0)
    g.publish(1, [1])


def tx_head_out_of_range(g):
    g.publish(1, [999])


def tx_avail_idx_far_ahead(g):
    """The guest claims 39999 new buffers in a 256-entry ring, all the same frame.

    The frame goes to the guest's own MAC, so the switch drops it (the
    destination is behind the port it came from) and other ports see nothing."""
    frame = bytes(VIRTIO_NET_HDR_LEN) + frame_from(MAC_H, dst=MAC_H)
    g.write(g.buffers + 0x100, frame)
    g.write_desc(1, 1, g.buffers + 0x100, len(frame))
    for i in range(g.queue_size):
        struct.pack_into("<H", g.mem, g.avail_off(1) + 4 + 2 * i, 1)
    g.set_avail_idx(1, 40000)


def rx_outside_memory(g):
    g.write_desc(0, 1, 0xFFFF_FFFF_0000, 2048, VRING_DESC_F_WRITE)
    g.publish(0, [1])


def rx_chain_loops_on_itself(g):
    g.write_desc(0, 1, g.buffers + 0x400, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1)
    g.publish(0, [1])


def rx_head_out_of_range(g):
    g.publish(0, [999])


RING_CASES = [tx_outside_memory, tx_longer_than_memory, tx_chain_loops_on_itself, tx_next_out_of_range,
              tx_indirect_table_outside_memory, tx_indirect_table_loops, tx_zero_length,
              tx_head_out_of_range, tx_avail_idx_far_ahead,
              rx_outside_memory, rx_chain_loops_on_itself, rx_head_out_of_range]


def connect_guest(lab, sw, **memory) -> tuple[VhostUserFrontend, GuestMemory]:
    fe = VhostUserFrontend(lab.path("h.sock"))
    guest = GuestMemory(**memory)
    guest.handshake(fe)
    # The port comes up only after a correct handshake: without that the rings
    # below would never be looked at and the test would prove nothing.
    sw.wait_link("h", up=True, timeout=10)
    return fe, guest


def check_guest_rings_work(guest, a, b):
    """Positive control: one frame each way through descriptor 0 of each ring."""
    # guest rx: a buffer for the switch, filled by A's next broadcast
    guest.write_desc(0, 0, guest.buffers + 0x800, 2048, VRING_DESC_F_WRITE)
    guest.publish(0, [0])
    before = b.rx_packets()
    n = a.send(1, to=BROADCAST)
    assert b.wait_rx(before + n, settle=0.05) == before + n
    nfvtest.wait_for(lambda: guest.used_idx(0) == 1, 5, what="the switch to fill the guest's rx buffer")
    got = bytes(guest.mem[guest.buffers + 0x800 + VIRTIO_NET_HDR_LEN:][:14])
    assert got[6:12] == bytes.fromhex(MAC_A.replace(":", "")), f"guest received {got.hex()}"
    # guest tx: a broadcast from the guest reaches A and B
    frame = bytes(VIRTIO_NET_HDR_LEN) + frame_from(MAC_H)
    guest.write(guest.buffers, frame)
    guest.write_desc(1, 0, guest.buffers, len(frame))
    before_a, before_b = a.rx_packets(), b.rx_packets()
    guest.publish(1, [0])
    assert a.wait_rx(before_a + 1, settle=0.05) == before_a + 1
    assert b.wait_rx(before_b + 1, settle=0.05) == before_b + 1
    assert guest.used_idx(1) == 1


@pytest.mark.timeout(120)
def test_hostile_guest_rings_then_a_good_peer(lab, topology):
    sw, a, b = topology
    for case in RING_CASES:
        fe, guest = connect_guest(lab, sw)
        try:
            check_guest_rings_work(guest, a, b)
            case(guest)
            assert_switch_healthy(sw, a, b, case.__name__)
            # a broadcast is flooded to the abused port as well
            before = b.rx_packets()
            n = a.send(1, to=BROADCAST)
            assert b.wait_rx(before + n, settle=0.05) == before + n, case.__name__
            assert sw.alive(), f"the switch died ({case.__name__}):\n{sw.log()[-3000:]}"
        finally:
            fe.close()
            guest.close()
        sw.wait_link("h", up=False, timeout=10)

    assert_switch_healthy(sw, a, b, "the hostile guests hung up")
    assert "Invalid memory" not in sw.log(), "DPDK's heap is corrupted"
    # The abused port still works for a well-behaved peer.
    h = lab.testpmd("H", lab.path("h.sock"), MAC_H)
    sw.wait_link("h", up=True)
    before_b, before_h = b.rx_packets(), h.rx_packets()
    n = a.send(2, to=BROADCAST)
    assert b.wait_rx(before_b + n) == before_b + n
    assert h.wait_rx(before_h + n) == before_h + n
    before_a = a.rx_packets()
    n = h.send(1, to=MAC_A)
    assert a.wait_rx(before_a + n) == before_a + n


@pytest.mark.timeout(60)
@pytest.mark.parametrize("ring", ["tx", "rx"])
def test_guest_memory_smaller_than_its_region_is_refused(lab, topology, ring):
    """A SET_MEM_TABLE region larger than the memfd behind it would make the first
    access past the end of the file a SIGBUS: the switch refuses the memory table,
    keeps the port down, counts the refusal, and never touches those rings."""
    sw, a, b = topology
    fe = VhostUserFrontend(lab.path("h.sock"))
    # The region says 2 MiB; the file behind it has 4 KiB (rings and nothing else).
    guest = GuestMemory(region_size=REGION_SIZE, file_size=4096, queue_size=16)
    try:
        try:
            guest.handshake(fe)
        except OSError:
            pass  # the switch may hang up once it refused the memory table
        beyond_eof = 0x100000
        q = 1 if ring == "tx" else 0
        guest.write_desc(q, 0, beyond_eof, 64 if ring == "tx" else 2048, 0 if ring == "tx" else VRING_DESC_F_WRITE)
        if q in guest.kick:
            guest.publish(q, [0])
        else:  # the handshake stopped before the kick fds: publish without kicking
            struct.pack_into("<H", guest.mem, guest.avail_off(q) + 4, 0)
            struct.pack_into("<H", guest.mem, guest.avail_off(q) + 2, 1)
        if ring == "rx":
            b_before = b.rx_packets()
            n = a.send(1, to=BROADCAST)  # flooded everywhere; h must not be written to
            # b gets the flood too: let it arrive before the health check samples b's
            # count (CI once saw it land after: "B received 16 of 8 frames").
            assert b.wait_rx(b_before + n) == b_before + n
        nfvtest.wait_for(lambda: sw.port("h").get("refused_connections", 0) >= 1, 10,
                         what="the switch to count the refused memory table")
        assert sw.port("h")["link"] == "down"
        assert_switch_healthy(sw, a, b, f"a {ring} descriptor past the end of the guest's memfd")
    finally:
        fe.close()
        guest.close()
    # The port still serves a well-behaved peer afterwards.
    h = lab.testpmd("H", lab.path("h.sock"), MAC_H)
    sw.wait_link("h", up=True)
    before_h = h.rx_packets()
    n = a.send(1, to=BROADCAST)
    assert h.wait_rx(before_h + n) == before_h + n


# Regression (fixed: the switch caps its bursts at the ring size): with a guest
# ring smaller than a 32-packet burst (16 here), an avail index more than the ring
# size ahead made rte_vhost's dequeue (virtio_dev_tx_split: count = min(burst,
# avail - last_avail), not bounded by the ring size) write past its ring-sized
# shadow used array: heap corruption, SIGSEGV or 'EAL: Error: Invalid memory'.


@pytest.mark.timeout(60)
def test_small_ring_with_avail_index_far_ahead(lab, topology):
    sw, a, b = topology
    what = "small rings with an avail index far ahead"
    try:
        for _ in range(2):
            fe, guest = connect_guest(lab, sw, queue_size=16)  # a legal ring size (virtio 1.x 2.7)
            try:
                tx_avail_idx_far_ahead(guest)
                nfvtest.wait_for(lambda: guest.used_idx(1) == 40000, 10, what="the switch to drain the ring")
            finally:
                fe.close()
                guest.close()
            sw.wait_link("h", up=False, timeout=10)
    except OSError as e:
        raise switch_gone(sw, what, e) from None
    assert_switch_healthy(sw, a, b, what)
    assert "Invalid memory" not in sw.log(), "DPDK's heap is corrupted:\n" + sw.log()[-2000:]
