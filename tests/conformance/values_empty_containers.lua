return { json.encode({}), json.encode({ {} }), json.encode({ 1, 2 }) }
