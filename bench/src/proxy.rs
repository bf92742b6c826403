//! A TCP proxy in front of the server that counts round trips of the PostgreSQL protocol, for
//! any client in any language (W6).
//!
//! A round trip starts when the client sends a `Sync` or a simple `Query` while nothing it sent
//! before is still unanswered, and ends with the server's `ReadyForQuery`. Queries pipelined
//! behind an unanswered one ride on the same round trip. The startup handshake is not counted.
//! The total so far is served as one decimal line to whoever connects to the control address.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

pub struct Proxy {
    /// Where clients connect instead of the server, `127.0.0.1:port`.
    pub port: u16,
    /// Where the round-trip counter is read.
    pub ctl: String,
}

#[derive(Default)]
struct ConnState {
    /// Syncs / queries sent and not yet answered by ReadyForQuery.
    outstanding: u64,
    /// Single unframed bytes the server will send (answers to SSLRequest / GSSENCRequest).
    expect_raw: usize,
}

pub fn start(server: (String, u16)) -> std::io::Result<Proxy> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    let ctl = TcpListener::bind("127.0.0.1:0")?;
    let port = l.local_addr()?.port();
    let ctl_addr = ctl.local_addr()?.to_string();
    let total = Arc::new(AtomicU64::new(0));
    {
        let total = total.clone();
        thread::spawn(move || {
            for s in ctl.incoming().flatten() {
                let mut s = s;
                let _ = writeln!(s, "{}", total.load(Ordering::SeqCst));
            }
        });
    }
    thread::spawn(move || {
        for client in l.incoming().flatten() {
            let total = total.clone();
            let server = server.clone();
            thread::spawn(move || {
                if let Ok(up) = TcpStream::connect((server.0.as_str(), server.1)) {
                    let _ = client.set_nodelay(true);
                    let _ = up.set_nodelay(true);
                    relay(client, up, total);
                }
            });
        }
    });
    Ok(Proxy { port, ctl: ctl_addr })
}

fn relay(client: TcpStream, server: TcpStream, total: Arc<AtomicU64>) {
    let st = Arc::new(Mutex::new(ConnState::default()));
    let (c_in, s_out) = match (client.try_clone(), server.try_clone()) {
        (Ok(a), Ok(b)) => (a, b),
        _ => return,
    };
    let st2 = st.clone();
    let up = thread::spawn(move || {
        // client -> server
        let mut f = Framer::new(true);
        pump(c_in, s_out, |chunk| {
            f.feed(chunk, &mut |ev| match ev {
                Event::Startup(code) => {
                    let mut s = st2.lock().unwrap();
                    if code == 80877103 || code == 80877104 {
                        s.expect_raw += 1;
                    } else if code >> 16 == 3 {
                        s.outstanding = 1; // answered by the first ReadyForQuery
                    }
                }
                Event::Msg(b'S') | Event::Msg(b'Q') => {
                    let mut s = st2.lock().unwrap();
                    if s.outstanding == 0 {
                        total.fetch_add(1, Ordering::SeqCst);
                    }
                    s.outstanding += 1;
                }
                _ => {}
            }, None);
        });
    });
    // server -> client
    let mut f = Framer::new(false);
    let st3 = st.clone();
    pump(server, client, |chunk| {
        f.feed(chunk, &mut |ev| {
            if let Event::Msg(b'Z') = ev {
                let mut s = st3.lock().unwrap();
                s.outstanding = s.outstanding.saturating_sub(1);
            }
        }, Some(&st3));
    });
    let _ = up.join();
}

/// Copies `from` to `to`, showing each chunk to `see` before forwarding it.
fn pump(mut from: TcpStream, mut to: TcpStream, mut see: impl FnMut(&[u8])) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                see(&buf[..n]);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

enum Event {
    /// An untyped startup-phase packet with its request code.
    Startup(u32),
    /// A typed message.
    Msg(u8),
}

/// Splits a byte stream into protocol messages.
struct Framer {
    startup: bool,
    hdr: [u8; 8],
    hlen: usize,
    skip: usize,
}

impl Framer {
    fn new(startup: bool) -> Framer {
        Framer { startup, hdr: [0; 8], hlen: 0, skip: 0 }
    }

    fn feed(&mut self, mut data: &[u8], on: &mut dyn FnMut(Event), raw: Option<&Arc<Mutex<ConnState>>>) {
        while !data.is_empty() {
            if self.skip > 0 {
                let k = self.skip.min(data.len());
                self.skip -= k;
                data = &data[k..];
                continue;
            }
            if self.hlen == 0 {
                if let Some(st) = raw {
                    let mut s = st.lock().unwrap();
                    if s.expect_raw > 0 {
                        s.expect_raw -= 1;
                        data = &data[1..];
                        continue;
                    }
                }
            }
            let want = if self.startup { 8 } else { 5 };
            let k = (want - self.hlen).min(data.len());
            self.hdr[self.hlen..self.hlen + k].copy_from_slice(&data[..k]);
            self.hlen += k;
            data = &data[k..];
            if self.hlen < want {
                continue;
            }
            self.hlen = 0;
            if self.startup {
                let len = u32::from_be_bytes([self.hdr[0], self.hdr[1], self.hdr[2], self.hdr[3]]) as usize;
                let code = u32::from_be_bytes([self.hdr[4], self.hdr[5], self.hdr[6], self.hdr[7]]);
                self.skip = len.saturating_sub(8);
                if code >> 16 == 3 {
                    self.startup = false;
                }
                on(Event::Startup(code));
            } else {
                let len = u32::from_be_bytes([self.hdr[1], self.hdr[2], self.hdr[3], self.hdr[4]]) as usize;
                self.skip = len.saturating_sub(4);
                on(Event::Msg(self.hdr[0]));
            }
        }
    }
}
