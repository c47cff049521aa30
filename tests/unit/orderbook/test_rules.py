"""The venues' sequence rules, message by message, and OKX's checksum."""

from __future__ import annotations

import zlib

from real_trade.orderbook import BinanceRule, BybitRule, OKXRule, Verdict, okx_checksum
from real_trade.sim.okx.format import book_checksum


def test_binance_spot_rule() -> None:
    rule = BinanceRule()
    assert rule.check(1, 2, None) is Verdict.GAP  # no snapshot yet
    rule.reset(100)
    assert rule.check(90, 100, None) is Verdict.SKIP  # covered by the snapshot
    assert rule.check(102, 105, None) is Verdict.GAP  # starts past lastUpdateId + 1
    assert rule.check(95, 103, None) is Verdict.APPLY  # spans the snapshot
    assert rule.last == 103
    assert rule.check(95, 103, None) is Verdict.SKIP  # a duplicate
    assert rule.check(104, 104, None) is Verdict.APPLY
    assert rule.check(106, 107, None) is Verdict.GAP  # 105 is missing
    assert rule.last == 104


def test_binance_futures_rule_checks_pu() -> None:
    rule = BinanceRule(futures=True)
    rule.reset(100)
    assert rule.check(98, 104, 97) is Verdict.APPLY  # the first one only has to span it
    assert rule.check(105, 110, 104) is Verdict.APPLY
    assert rule.check(111, 112, 109) is Verdict.GAP  # pu != previous u
    assert rule.check(100, 110, 104) is Verdict.SKIP


def test_bybit_rule() -> None:
    rule = BybitRule()
    assert rule.check(5, 1) is Verdict.GAP
    rule.reset(10, 500)
    assert rule.check(11, 501) is Verdict.APPLY
    assert rule.check(11, 501) is Verdict.SKIP  # duplicate
    assert rule.check(10, 499) is Verdict.SKIP  # late
    assert rule.check(13, 503) is Verdict.GAP  # u skipped one
    assert rule.check(12, 400) is Verdict.GAP  # seq went back
    assert rule.check(12, None) is Verdict.APPLY
    assert (rule.last, rule.seq) == (12, 501)


def test_okx_rule() -> None:
    rule = OKXRule()
    assert rule.check(5, 4) is Verdict.GAP
    rule.reset(100)
    assert rule.check(105, 100) is Verdict.APPLY
    assert rule.check(105, 100) is Verdict.SKIP  # duplicate
    assert rule.check(105, 105) is Verdict.APPLY  # no change, same id
    assert rule.check(120, 110) is Verdict.GAP  # prevSeqId is not the book's
    assert rule.check(3, 105) is Verdict.GAP  # the venue reset its sequence
    assert rule.last == 105


def test_okx_checksum_matches_the_documented_string_and_the_simulator() -> None:
    bids = [("3366.1", "7"), ("3366", "6")]
    asks = [("3366.8", "9"), ("3368", "8"), ("3372", "8")]
    text = "3366.1:7:3366.8:9:3366:6:3368:8:3372:8"
    crc = zlib.crc32(text.encode())
    assert okx_checksum(bids, asks) == (crc - (1 << 32) if crc >= 1 << 31 else crc)
    assert okx_checksum(bids, asks) == book_checksum(bids, asks)
    many = [(str(100 - i), str(i + 1)) for i in range(40)]
    assert okx_checksum(many, many[:3]) == book_checksum(many, many[:3])
    assert okx_checksum(many, many[:3]) != okx_checksum(many[1:], many[:3])
