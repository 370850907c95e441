// Command barebench is the baseline for scripts/bench-redirect.sh: a bare
// net/http server that answers every request with a 302 to a fixed URL and
// does nothing else, so the benchmark can say what our redirect costs on
// top of Go's HTTP stack on the same machine.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listening", ln.Addr()) // the script reads the port from here
	const to = "https://shop.example.com/landing?utm_source=bench&utm_medium=referral&utm_campaign=bench"
	log.Fatal(http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to, http.StatusFound)
	})))
}
