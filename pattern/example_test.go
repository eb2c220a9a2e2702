package pattern_test

import (
	"fmt"
	"slices"

	"github.com/conveyor/conveyor/pattern"
)

func Example() {
	m := pattern.New()
	rules := map[string]string{
		"ec2-stopped": `{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"],"detail":{"state":["stopped","terminated"]}}`,
		"big-orders":  `{"source":["shop"],"detail":{"total":[{"numeric":[">",1000]}]}}`,
		"s3-buckets":  `{"source":["aws.s3"],"detail":{"eventName":[{"prefix":"CreateBucket"}]}}`,
	}
	for id, p := range rules {
		if err := m.Add(id, []byte(p)); err != nil {
			fmt.Println(err)
			return
		}
	}

	ids, err := m.Match([]byte(`{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","detail":{"state":"stopped","instance-id":"i-1"}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	slices.Sort(ids)
	fmt.Println(ids)

	ids, _ = m.Match([]byte(`{"source":"shop","detail":{"total":1200.5}}`))
	fmt.Println(ids)

	m.Delete("big-orders")
	ids, _ = m.Match([]byte(`{"source":"shop","detail":{"total":1200.5}}`))
	fmt.Println(ids)

	err = m.Add("bad", []byte(`{"detail":{"total":[{"numeric":[">",1000,">",5]}]}}`))
	fmt.Println(err)

	ok, _ := pattern.Test([]byte(`{"detail":{"state":[{"anything-but":"running"}]}}`),
		[]byte(`{"id":"1","account":"123456789012","source":"aws.ec2","time":"2024-01-01T00:00:00Z","region":"us-east-1","detail-type":"x","detail":{"state":"stopped"}}`))
	fmt.Println(ok)
	// Output:
	// [ec2-stopped]
	// [big-orders]
	// []
	// Event pattern is not valid. Reason: Bad numeric range operator: >
	// true
}
