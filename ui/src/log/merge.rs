//! Views over several channels: their rows interleaved newest first, each channel's own
//! order kept (there is no order between channels to show, only when each was stored).

use super::{Item, Row};
use std::cmp::Reverse;
use std::iter::Peekable;
use std::rc::Rc;
use wire::Micros;

/// What interleaves channels ([`Row::order`]).
type Order = (Micros, Micros);

/// Index of the list whose next item has the greatest `key` (the first such list on a tie).
fn next_of<I: Iterator, K: Ord>(
    lists: &mut [Peekable<I>],
    key: impl Fn(&I::Item) -> K,
) -> Option<usize> {
    (lists.iter_mut().enumerate())
        .filter_map(|(i, l)| Some((key(l.peek()?), Reverse(i))))
        .max()
        .map(|(_, Reverse(i))| i)
}

/// Rows of several channels, each list newest first, as one list newest first: at each step
/// the list whose next row is newest ([`Row::order`]) gives it. Each list's own order is kept.
pub fn newest_first<'a, I>(lists: Vec<I>) -> impl Iterator<Item = &'a Rc<Row>>
where
    I: Iterator<Item = &'a Rc<Row>>,
{
    let mut lists: Vec<_> = lists.into_iter().map(Iterator::peekable).collect();
    std::iter::from_fn(move || {
        let i = next_of(&mut lists, |r| r.order())?;
        lists[i].next()
    })
}

/// A row with the gaps just above it in its channel; or a channel's trailing gaps (below its
/// oldest row), which have no order and so come after every row.
struct Group {
    order: Option<Order>,
    items: Vec<Item>,
}

/// One channel's items (newest first) as groups.
fn groups(items: Vec<Item>) -> Vec<Group> {
    let mut groups = Vec::new();
    let mut gaps = Vec::new();
    for item in items {
        match item {
            Item::Row(r) => {
                let order = Some(r.order());
                gaps.push(Item::Row(r));
                let items = std::mem::take(&mut gaps);
                groups.push(Group { order, items });
            }
            gap => gaps.push(gap),
        }
    }
    if !gaps.is_empty() {
        groups.push(Group {
            order: None,
            items: gaps,
        });
    }
    groups
}

/// Timeline items of several channels (each channel's newest first, as `Stream::items`
/// lists them) as one list of at most `limit` rows: rows interleaved as [`newest_first`]
/// does, each gap kept just above the row below it in its channel.
pub(super) fn interleave(lists: Vec<Vec<Item>>, limit: usize) -> Vec<Item> {
    let mut lists: Vec<_> = (lists.into_iter())
        .map(|items| groups(items).into_iter().peekable())
        .collect();
    let (mut out, mut rows) = (Vec::new(), 0);
    while rows < limit {
        let Some(group) = next_of(&mut lists, |g| g.order).and_then(|i| lists[i].next()) else {
            break;
        };
        rows += usize::from(group.order.is_some());
        out.extend(group.items);
    }
    out
}
