//! The file formats of the segment log.
//!
//! A segment file (`{seq:020}.seg`) is the 8-byte header `SLUICEQ1` followed by records, each
//! framed as `[len u32 LE][crc32 u32 LE][len bytes]`; the CRC-32 (IEEE) covers the record bytes.
//! Its acknowledgement file (`{seq:020}.ack`) is a sequence of `u32 LE` record indices (0 = the
//! segment's first record), appended as records are delivered.

/// The first bytes of every segment file; a new format gets a new header.
pub(crate) const MAGIC: [u8; 8] = *b"SLUICEQ1";

/// Bytes before each record: its length and its checksum.
pub(crate) const FRAME_HEADER: usize = 8;

const SEGMENT_SUFFIX: &str = ".seg";
const ACK_SUFFIX: &str = ".ack";

/// File name of segment `seq`.
pub(crate) fn segment_name(seq: u64) -> String {
    format!("{seq:020}{SEGMENT_SUFFIX}")
}

/// File name of the acknowledgement file of segment `seq`.
pub(crate) fn ack_name(seq: u64) -> String {
    format!("{seq:020}{ACK_SUFFIX}")
}

/// What a file of the log directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Segment(u64),
    Acks(u64),
}

/// Recognise `{seq}.seg` and `{seq}.ack`; anything else is not ours.
pub(crate) fn parse_name(name: &str) -> Option<FileKind> {
    let seq = |stem: &str| {
        (!stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit()))
            .then(|| stem.parse::<u64>().ok())
            .flatten()
    };
    if let Some(stem) = name.strip_suffix(SEGMENT_SUFFIX) {
        return seq(stem).map(FileKind::Segment);
    }
    name.strip_suffix(ACK_SUFFIX)
        .and_then(seq)
        .map(FileKind::Acks)
}

/// Fill in the frame header of `frame`: its first [`FRAME_HEADER`] bytes are reserved, the
/// record follows. Fails (with the record's length) if the record does not fit a `u32`.
pub(crate) fn seal_frame(frame: &mut [u8]) -> Result<(), usize> {
    let Some((header, body)) = frame.split_at_mut_checked(FRAME_HEADER) else {
        return Err(0);
    };
    let len = u32::try_from(body.len()).map_err(|_| body.len())?;
    let crc = crc32fast::hash(body);
    header[..4].copy_from_slice(&len.to_le_bytes());
    header[4..].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// The readable part of a segment file.
#[derive(Debug)]
pub(crate) enum Scan<'a> {
    /// The file does not start with [`MAGIC`]: not a segment of this format.
    Foreign,
    /// The records in order, the length of the well-formed prefix of the file and, if the file
    /// goes on after it, why the rest was not readable (a torn write).
    Records {
        records: Vec<&'a [u8]>,
        valid_len: usize,
        torn: Option<&'static str>,
    },
}

/// Split a segment file into its records, stopping at the first damaged frame.
pub(crate) fn scan(data: &[u8]) -> Scan<'_> {
    let Some(rest) = data.strip_prefix(&MAGIC) else {
        if MAGIC.starts_with(data) {
            // Created, then killed before the header was complete.
            return Scan::Records {
                records: Vec::new(),
                valid_len: 0,
                torn: (!data.is_empty()).then_some("incomplete file header"),
            };
        }
        return Scan::Foreign;
    };
    let mut records = Vec::new();
    let mut rest = rest;
    let mut valid_len = MAGIC.len();
    let torn = loop {
        if rest.is_empty() {
            break None;
        }
        let Some((len, after_len)) = rest.split_first_chunk::<4>() else {
            break Some("incomplete record header");
        };
        let Some((crc, after_crc)) = after_len.split_first_chunk::<4>() else {
            break Some("incomplete record header");
        };
        let len = u32::from_le_bytes(*len) as usize;
        if len == 0 {
            break Some("zero-length record (zero-filled tail)");
        }
        let Some((body, after_body)) = after_crc.split_at_checked(len) else {
            break Some("record cut short");
        };
        if crc32fast::hash(body) != u32::from_le_bytes(*crc) {
            break Some("checksum mismatch");
        }
        records.push(body);
        valid_len += FRAME_HEADER + len;
        rest = after_body;
    };
    Scan::Records {
        records,
        valid_len,
        torn,
    }
}

/// Record indices of an acknowledgement file and the length of its whole-entry prefix (a
/// crash may leave a partial entry at the end).
pub(crate) fn parse_acks(data: &[u8]) -> (Vec<u32>, usize) {
    let chunks = data.chunks_exact(4);
    let valid_len = data.len() - chunks.remainder().len();
    let indices = chunks
        .filter_map(|c| <[u8; 4]>::try_from(c).ok())
        .map(u32::from_le_bytes)
        .collect();
    (indices, valid_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(record: &[u8]) -> Vec<u8> {
        let mut f = vec![0; FRAME_HEADER];
        f.extend_from_slice(record);
        seal_frame(&mut f).unwrap();
        f
    }

    fn records(data: &[u8]) -> (Vec<Vec<u8>>, usize, Option<&'static str>) {
        match scan(data) {
            Scan::Records {
                records,
                valid_len,
                torn,
            } => (
                records.into_iter().map(<[u8]>::to_vec).collect(),
                valid_len,
                torn,
            ),
            Scan::Foreign => panic!("not recognised as a segment"),
        }
    }

    #[test]
    fn frames_round_trip() {
        let mut file = MAGIC.to_vec();
        file.extend(frame(b"one"));
        file.extend(frame(b"second record"));
        let (recs, valid, torn) = records(&file);
        assert_eq!(recs, vec![b"one".to_vec(), b"second record".to_vec()]);
        assert_eq!(valid, file.len());
        assert_eq!(torn, None);
    }

    #[test]
    fn torn_tails_stop_at_the_last_good_record() {
        let mut good = MAGIC.to_vec();
        good.extend(frame(b"kept"));
        let good_len = good.len();

        let mut cut = good.clone();
        cut.extend(&frame(b"cut short")[..12]);
        assert_eq!(records(&cut).0, vec![b"kept".to_vec()]);
        assert_eq!(records(&cut).1, good_len);
        assert_eq!(records(&cut).2, Some("record cut short"));

        let mut garbage = good.clone();
        garbage.extend(b"\x05\x00\x00\x00\xde\xad\xbe\xefhello");
        assert_eq!(records(&garbage).2, Some("checksum mismatch"));
        assert_eq!(records(&garbage).1, good_len);

        let mut zeros = good.clone();
        zeros.extend([0u8; 64]);
        assert_eq!(records(&zeros).0.len(), 1);
        assert!(records(&zeros).2.is_some());

        let mut short = good;
        short.extend([1, 2, 3]);
        assert_eq!(records(&short).2, Some("incomplete record header"));
    }

    #[test]
    fn foreign_and_half_created_files() {
        assert!(matches!(scan(b"something else entirely"), Scan::Foreign));
        assert_eq!(records(b"").0.len(), 0);
        assert_eq!(records(b"SLUI").1, 0);
        assert!(records(b"SLUI").2.is_some());
    }

    #[test]
    fn names_and_acks() {
        assert_eq!(segment_name(7), "00000000000000000007.seg");
        assert_eq!(parse_name(&segment_name(7)), Some(FileKind::Segment(7)));
        assert_eq!(parse_name(&ack_name(9)), Some(FileKind::Acks(9)));
        assert_eq!(parse_name("LOCK"), None);
        assert_eq!(parse_name(".seg"), None);
        assert_eq!(parse_name("-1.seg"), None);
        let (acks, valid) = parse_acks(&[1, 0, 0, 0, 2, 0, 0, 0, 9]);
        assert_eq!(acks, vec![1, 2]);
        assert_eq!(valid, 8);
    }
}
