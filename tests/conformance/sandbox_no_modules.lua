local fs = require("fs")
