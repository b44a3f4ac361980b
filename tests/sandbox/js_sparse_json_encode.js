// expect: limit.memory
// An array whose length is huge and whose content is tiny: the copy is
// paid for by its length before anything is allocated by it.
const a = []; a[1e9] = 1; json.encode(a);
