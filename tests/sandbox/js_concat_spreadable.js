// expect: limit.time
[].concat({ length: 2 ** 53 - 2, [Symbol.isConcatSpreadable]: true });
