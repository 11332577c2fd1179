//! Hostile clients against the servers, one test binary: each test plays
//! a client that breaks the rules on purpose (a flood, a dribble, a burst,
//! a descriptor hog) and checks that the server bounds what it costs and
//! keeps serving everybody else. Every test is bounded in time and in
//! connections.

mod echo;
mod http;

mod accept;
mod flood;
mod slow;
mod wedge;
