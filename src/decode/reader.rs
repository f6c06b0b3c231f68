//! Bounds-checked little-endian reader over one event's bytes.
//!
//! Owns [`Cursor`] and the internal failure type [`Fail`], which records the byte position inside
//! the event where parsing stopped. The event decoder turns a `Fail` into a
//! [`crate::decode::DecodeError`] with the file and offset. Nothing here knows event layouts.

use std::borrow::Cow;

/// Why parsing one event stopped, and where (byte position from the start of the event,
/// header included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail {
    pub at: usize,
    pub msg: Cow<'static, str>,
}

impl Fail {
    pub fn new(at: usize, msg: impl Into<Cow<'static, str>>) -> Fail {
        Fail { at, msg: msg.into() }
    }
}

pub(crate) type Res<T> = Result<T, Fail>;

/// A read position in a byte slice. `base` is the position of `buf[0]` inside the event, so
/// failures report event-relative positions even for sub-slices.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8], base: usize) -> Cursor<'a> {
        Cursor { buf, pos: 0, base }
    }

    /// Event-relative position of the next byte.
    #[inline]
    pub fn at(&self) -> usize {
        self.base + self.pos
    }

    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Everything not read yet, without consuming it.
    #[inline]
    pub fn rest(&self) -> &'a [u8] {
        // pos never exceeds buf.len(): every advance is checked.
        &self.buf[self.pos..]
    }

    #[cold]
    fn short(&self, need: usize, what: &'static str) -> Fail {
        Fail::new(
            self.at(),
            format!("truncated reading {what}: need {need} bytes, {} left", self.remaining()),
        )
    }

    #[inline]
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Res<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.short(n, what));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    #[inline]
    pub fn skip(&mut self, n: usize, what: &'static str) -> Res<()> {
        self.bytes(n, what).map(|_| ())
    }

    /// Consume and return everything left.
    #[inline]
    pub fn take_rest(&mut self) -> &'a [u8] {
        let s = self.rest();
        self.pos = self.buf.len();
        s
    }

    #[inline]
    fn array<const N: usize>(&mut self, what: &'static str) -> Res<[u8; N]> {
        let s = self.bytes(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    #[inline]
    pub fn u8(&mut self, what: &'static str) -> Res<u8> {
        Ok(self.array::<1>(what)?[0])
    }
    #[inline]
    pub fn u16(&mut self, what: &'static str) -> Res<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    #[inline]
    pub fn u32(&mut self, what: &'static str) -> Res<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    #[inline]
    pub fn u64(&mut self, what: &'static str) -> Res<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    /// Unsigned little-endian integer of `n` (<= 8) bytes.
    #[inline]
    pub fn uint_n(&mut self, n: usize, what: &'static str) -> Res<u64> {
        let s = self.bytes(n, what)?;
        let mut a = [0u8; 8];
        a[..n.min(8)].copy_from_slice(&s[..n.min(8)]);
        Ok(u64::from_le_bytes(a))
    }

    /// MySQL packed integer (`net_field_length`): <251 one byte, 0xFC u16, 0xFD u24, 0xFE u64.
    /// 0xFB (SQL NULL) and 0xFF are invalid in binlog bodies.
    #[inline]
    pub fn lenenc(&mut self, what: &'static str) -> Res<u64> {
        let at = self.at();
        match self.u8(what)? {
            b @ 0..=250 => Ok(u64::from(b)),
            0xFC => Ok(u64::from(self.u16(what)?)),
            0xFD => self.uint_n(3, what),
            0xFE => self.u64(what),
            b => Err(Fail::new(at, format!("invalid packed-integer prefix 0x{b:02X} in {what}"))),
        }
    }

    /// A packed integer used as a length or count, checked against what is left (each item
    /// takes at least `min_item_size` bytes) so a corrupt value cannot trigger a huge allocation.
    #[inline]
    pub fn lenenc_count(&mut self, min_item_size: usize, what: &'static str) -> Res<usize> {
        let at = self.at();
        let n = self.lenenc(what)?;
        self.check_count(at, n, min_item_size, what)
    }

    /// Check a count read elsewhere against the bytes left.
    #[inline]
    pub fn check_count(&self, at: usize, n: u64, min_item_size: usize, what: &'static str) -> Res<usize> {
        let left = self.remaining() as u64;
        if n.saturating_mul(min_item_size.max(1) as u64) > left {
            return Err(Fail::new(at, format!("{what} = {n} exceeds the {left} bytes left")));
        }
        Ok(n as usize)
    }

    /// Packed-length-prefixed bytes.
    #[inline]
    pub fn lenenc_bytes(&mut self, what: &'static str) -> Res<&'a [u8]> {
        let n = self.lenenc_count(1, what)?;
        self.bytes(n, what)
    }

    /// u8-length-prefixed bytes.
    #[inline]
    pub fn u8_bytes(&mut self, what: &'static str) -> Res<&'a [u8]> {
        let n = self.u8(what)? as usize;
        self.bytes(n, what)
    }

    /// Bytes up to (not including) a NUL, which is consumed.
    pub fn cstr(&mut self, what: &'static str) -> Res<&'a [u8]> {
        let rest = self.rest();
        match rest.iter().position(|&b| b == 0) {
            Some(n) => {
                self.pos += n + 1;
                Ok(&rest[..n])
            }
            None => Err(Fail::new(self.at(), format!("missing NUL terminator in {what}"))),
        }
    }
}

/// Lossy UTF-8 to String: identifiers and SQL text are shown, never trusted.
#[inline]
pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Bit `i` of an LSB-first bitmap (row images, TABLE_MAP null bits).
#[inline]
pub(crate) fn bit_lsb(bitmap: &[u8], i: usize) -> bool {
    bitmap.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0)
}

/// Bit `i` of an MSB-first bitmap (TABLE_MAP optional metadata: SIGNEDNESS, VISIBILITY).
#[inline]
pub(crate) fn bit_msb(bitmap: &[u8], i: usize) -> bool {
    bitmap.get(i / 8).is_some_and(|b| b & (0x80 >> (i % 8)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenenc_forms() {
        let b = [5u8, 0xFC, 0x34, 0x12, 0xFD, 1, 2, 3, 0xFE, 1, 0, 0, 0, 0, 0, 0, 0x80];
        let mut c = Cursor::new(&b, 0);
        assert_eq!(c.lenenc("x").unwrap(), 5);
        assert_eq!(c.lenenc("x").unwrap(), 0x1234);
        assert_eq!(c.lenenc("x").unwrap(), 0x030201);
        assert_eq!(c.lenenc("x").unwrap(), 0x8000_0000_0000_0001);
        assert!(c.is_empty());
    }

    #[test]
    fn truncation_reports_event_position() {
        let b = [1u8, 2, 3];
        let mut c = Cursor::new(&b, 19);
        c.u8("a").unwrap();
        let e = c.u32("thread id").unwrap_err();
        assert_eq!(e.at, 20);
        assert_eq!(e.msg, "truncated reading thread id: need 4 bytes, 2 left");
        let mut c = Cursor::new(&[0xFBu8], 0);
        assert_eq!(c.lenenc("n").unwrap_err().msg, "invalid packed-integer prefix 0xFB in n");
    }

    #[test]
    fn count_guard_refuses_huge_counts() {
        let b = [0xFEu8, 0, 0, 0, 0, 0, 0, 0, 1, 0];
        let mut c = Cursor::new(&b, 0);
        let e = c.lenenc_count(1, "columns").unwrap_err();
        assert!(e.msg.starts_with("columns = 72057594037927936 exceeds"), "{}", e.msg);
    }

    #[test]
    fn bit_orders() {
        assert!(bit_lsb(&[0b0000_0010], 1));
        assert!(!bit_lsb(&[0b0000_0010], 6));
        assert!(bit_msb(&[0b0100_0000], 1));
        assert!(!bit_lsb(&[], 0));
    }
}
