module github.com/respool/respool

go 1.26
