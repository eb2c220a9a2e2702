package ctlogs

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"time"
)

// File is a CloudTrail log file as AWS writes it: n management
// records of one account over five minutes, 1.0–1.5 KB each (identities
// with session contexts, user agents, TLS details, request parameters), 70%
// of them read-only, as accounts' trails are; each IAM user has one access
// key, and a file's role sessions fifty. Record i of file f has an eventID
// of its own.
func File(r *rand.Rand, f, n int, start time.Time) []byte {
	type call struct {
		source, name, resType string
		readOnly              bool
	}
	calls := []call{
		{"ec2.amazonaws.com", "DescribeInstances", "", true},
		{"ec2.amazonaws.com", "DescribeSecurityGroups", "", true},
		{"ec2.amazonaws.com", "RunInstances", "AWS::EC2::Instance", false},
		{"ec2.amazonaws.com", "StopInstances", "AWS::EC2::Instance", false},
		{"s3.amazonaws.com", "GetBucketAcl", "AWS::S3::Bucket", true},
		{"s3.amazonaws.com", "PutBucketPolicy", "AWS::S3::Bucket", false},
		{"iam.amazonaws.com", "GetRole", "", true},
		{"iam.amazonaws.com", "ListAttachedRolePolicies", "", true},
		{"sts.amazonaws.com", "AssumeRole", "AWS::IAM::Role", true},
		{"kms.amazonaws.com", "Decrypt", "AWS::KMS::Key", true},
		{"lambda.amazonaws.com", "GetFunction20150331v2", "", true},
		{"lambda.amazonaws.com", "UpdateFunctionCode20150331v2", "AWS::Lambda::Function", false},
		{"events.amazonaws.com", "PutRule", "AWS::Events::Rule", false},
		{"cloudformation.amazonaws.com", "DescribeStacks", "", true},
		{"logs.amazonaws.com", "DescribeLogGroups", "", true},
		{"monitoring.amazonaws.com", "GetMetricData", "", true},
	}
	agents := []string{
		"aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off",
		"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.171.0",
		"Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.69",
		"Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1",
		"console.amazonaws.com",
	}
	users := []string{"alice", "bob", "carol", "deploy-bot", "dave", "erin"}
	var b bytes.Buffer
	b.Grow(n * 1500)
	b.WriteString(`{"Records":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		c := calls[r.IntN(len(calls))]
		if r.IntN(10) < 7 && !c.readOnly {
			c = calls[0]
		}
		region := "eu-west-1"
		t := start.Add(time.Duration(i) * 5 * time.Minute / time.Duration(n)).Format(time.RFC3339)
		user := users[r.IntN(len(users))]
		agent := agents[r.IntN(len(agents))]
		ip := fmt.Sprintf("203.0.113.%d", r.IntN(40))
		if r.IntN(4) == 0 {
			ip = strings.TrimSuffix(c.source, ".amazonaws.com") + ".amazonaws.com"
		}
		var identity string
		if r.IntN(3) == 0 {
			identity = fmt.Sprintf(`{"type":"IAMUser","principalId":"AIDA6ON6E4XEG%sEXAMPLE","arn":"arn:aws:iam::111122223333:user/%s","accountId":"111122223333","accessKeyId":"AKIA%016X","userName":%q}`,
				strings.ToUpper(user), user, len(user), user)
		} else {
			role := []string{"ci-deploy", "Admin", "ReadOnly", "lambda-exec"}[r.IntN(4)]
			identity = fmt.Sprintf(`{"type":"AssumedRole","principalId":"AROA3EXAMPLE%sID:%s","arn":"arn:aws:sts::111122223333:assumed-role/%s/%s","accountId":"111122223333","accessKeyId":"ASIA%016X","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA3EXAMPLE%sID","arn":"arn:aws:iam::111122223333:role/%s","accountId":"111122223333","userName":%q},"webIdFederationData":{},"attributes":{"creationDate":%q,"mfaAuthenticated":"false"}}}`,
				strings.ToUpper(role), user, role, user, f<<8|r.IntN(50), strings.ToUpper(role), role, role, start.Add(-time.Duration(r.IntN(3600))*time.Second).Format(time.RFC3339))
		}
		name := fmt.Sprintf("%s-%d", []string{"orders", "invoices", "web", "batch", "etl"}[r.IntN(5)], r.IntN(300))
		var params, resources string
		switch {
		case strings.HasPrefix(c.name, "Describe"), strings.HasPrefix(c.name, "List"), strings.HasPrefix(c.name, "Get"):
			params = fmt.Sprintf(`{"filterSet":{"items":[{"name":"tag:env","valueSet":{"items":[{"value":"prod"}]}},{"name":"tag:app","valueSet":{"items":[{"value":%q}]}}]},"maxResults":%d}`, name, 50+r.IntN(50))
		default:
			params = fmt.Sprintf(`{"name":%q,"description":"managed by terraform","tags":[{"key":"env","value":"prod"},{"key":"team","value":"platform"}],"clientToken":"%016x"}`, name, r.Uint64())
		}
		if c.resType != "" {
			resources = fmt.Sprintf(`,"resources":[{"accountId":"111122223333","type":%q,"ARN":%q}]`, c.resType, resourceARN(c.resType, region, name))
		}
		fmt.Fprintf(&b, `{"eventVersion":"1.09","userIdentity":%s,"eventTime":%q,"eventSource":%q,"eventName":%q,"awsRegion":%q,`+
			`"sourceIPAddress":%q,"userAgent":%q,"requestParameters":%s,"responseElements":null,`+
			`"requestID":"%08x-%04x-4%03x-8%03x-%012x","eventID":"%08x-%04x-4%03x-a%03x-%012x","readOnly":%t%s,"eventType":"AwsApiCall",`+
			`"managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management",`+
			`"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"%s.%s.amazonaws.com"}}`,
			identity, t, c.source, c.name, region, ip, agent, params,
			r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Uint64()>>16,
			f, i, r.IntN(1<<12), r.IntN(1<<12), r.Uint64()>>16, c.readOnly, resources,
			strings.TrimSuffix(c.source, ".amazonaws.com"), region)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// resourceARN is the ARN of a resource of type typ called name, in AWS's
// form for that type (the generator's few types): an instance and a key are
// named by IDs, made from name so that a name is always the same resource.
func resourceARN(typ, region, name string) string {
	switch typ {
	case "AWS::EC2::Instance":
		h := fnv.New64a()
		h.Write([]byte(name))
		return fmt.Sprintf("arn:aws:ec2:%s:111122223333:instance/i-0%015x", region, h.Sum64()>>4)
	case "AWS::S3::Bucket":
		return "arn:aws:s3:::" + name
	case "AWS::IAM::Role":
		return "arn:aws:iam::111122223333:role/" + name
	case "AWS::KMS::Key":
		u := fnv.New128a()
		u.Write([]byte(name))
		k := u.Sum(nil)
		k[6], k[8] = k[6]&0x0f|0x40, k[8]&0x3f|0x80 // a random (version 4) UUID's bits
		return fmt.Sprintf("arn:aws:kms:%s:111122223333:key/%x-%x-%x-%x-%x", region, k[0:4], k[4:6], k[6:8], k[8:10], k[10:16])
	case "AWS::Lambda::Function":
		return fmt.Sprintf("arn:aws:lambda:%s:111122223333:function:%s", region, name)
	case "AWS::Events::Rule":
		return fmt.Sprintf("arn:aws:events:%s:111122223333:rule/%s", region, name)
	}
	panic("ctlogs: no ARN form for " + typ)
}
