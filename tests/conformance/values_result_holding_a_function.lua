return { f = print }
