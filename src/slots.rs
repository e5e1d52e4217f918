//! Reused slots: the tables of live queries (engine), domains in progress (pipeline) and
//! lookups in flight (pipeline cache) are `Vec<Option<T>>` indexed by slot, with a free list so
//! that memory follows the window, not the input.

/// Puts `item` in a free slot of `slots` (or a new one) and returns its index.
pub fn occupy<T>(slots: &mut Vec<Option<T>>, free: &mut Vec<usize>, item: T) -> usize {
    match free.pop() {
        Some(s) => {
            debug_assert!(slots[s].is_none(), "a free slot is empty");
            slots[s] = Some(item);
            s
        }
        None => {
            slots.push(Some(item));
            slots.len() - 1
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn freed_slots_are_reused() {
        let (mut slots, mut free) = (Vec::new(), Vec::new());
        assert_eq!(super::occupy(&mut slots, &mut free, 'a'), 0);
        assert_eq!(super::occupy(&mut slots, &mut free, 'b'), 1);
        slots[0] = None;
        free.push(0);
        assert_eq!(super::occupy(&mut slots, &mut free, 'c'), 0);
        assert_eq!(slots, [Some('c'), Some('b')]);
    }
}
