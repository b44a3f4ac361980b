-- expect: limit.time
table.move({}, 1, math.maxinteger // 2, 1, {})
