// Package scope names where AWS resources live: an account and a region. A resource of one
// scope is invisible to another, as on AWS: a bus "orders" in us-east-1 and one in eu-west-1
// are two buses.
package scope
