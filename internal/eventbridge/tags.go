package eventbridge

import (
	"context"
	"errors"

	"github.com/conveyor/conveyor/internal/awsapi"
	"github.com/conveyor/conveyor/internal/catalog"
)

// TagResourceInput is AWS's TagResourceRequest.
type TagResourceInput struct {
	ResourceARN *string `json:"ResourceARN"`
	Tags        []Tag   `json:"Tags"`
}

// TagResourceOutput is AWS's (empty) TagResourceResponse.
type TagResourceOutput struct{}

// TagResource adds tags to (or changes tags of) a bus, rule, connection or
// API destination.
func (s *Service) TagResource(ctx context.Context, in *TagResourceInput) (*TagResourceOutput, error) {
	if err := s.validate("TagResource", in); err != nil {
		return nil, err
	}
	err := s.updateTags(ctx, *in.ResourceARN, func(t catalog.Tags) (bool, error) {
		if applyTags(t, in.Tags) {
			return false, errTooManyTags()
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return &TagResourceOutput{}, nil
}

// UntagResourceInput is AWS's UntagResourceRequest.
type UntagResourceInput struct {
	ResourceARN *string  `json:"ResourceARN"`
	TagKeys     []string `json:"TagKeys"`
}

// UntagResourceOutput is AWS's (empty) UntagResourceResponse.
type UntagResourceOutput struct{}

// UntagResource removes tags from a resource; keys it does not have are
// ignored.
func (s *Service) UntagResource(ctx context.Context, in *UntagResourceInput) (*UntagResourceOutput, error) {
	if err := s.validate("UntagResource", in); err != nil {
		return nil, err
	}
	err := s.updateTags(ctx, *in.ResourceARN, func(t catalog.Tags) (bool, error) {
		changed := false
		for _, k := range in.TagKeys {
			if _, ok := t[k]; ok {
				delete(t, k)
				changed = true
			}
		}
		return changed, nil
	})
	if err != nil {
		return nil, err
	}
	return &UntagResourceOutput{}, nil
}

// ListTagsForResourceInput is AWS's ListTagsForResourceRequest.
type ListTagsForResourceInput struct {
	ResourceARN *string `json:"ResourceARN"`
}

// ListTagsForResourceOutput is AWS's ListTagsForResourceResponse.
type ListTagsForResourceOutput struct {
	Tags []OutTag `json:"Tags"`
}

// ListTagsForResource lists a resource's tags by key.
func (s *Service) ListTagsForResource(ctx context.Context, in *ListTagsForResourceInput) (*ListTagsForResourceOutput, error) {
	if err := s.validate("ListTagsForResource", in); err != nil {
		return nil, err
	}
	tags, err := s.in(ctx).Tags(ctx, *in.ResourceARN)
	if err != nil {
		return nil, s.tagsError(ctx, *in.ResourceARN, err)
	}
	return &ListTagsForResourceOutput{Tags: tagList(tags)}, nil
}

// updateTags changes a resource's tags; managed rules refuse.
func (s *Service) updateTags(ctx context.Context, arn string, fn func(catalog.Tags) (bool, error)) error {
	ref, _ := s.in(ctx).ParseResourceARN(arn)
	if ref.Kind == catalog.KindRule {
		r, err := s.in(ctx).Rule(ctx, ref.Bus, ref.Name)
		if err == nil && r.ManagedBy != "" {
			return errManagedRule(r.Name, r.ManagedBy)
		}
	}
	if err := s.in(ctx).UpdateTags(ctx, arn, fn); err != nil {
		return s.tagsError(ctx, arn, err)
	}
	return nil
}

// tagsError maps a catalog error of a tag operation to AWS's error for the
// kind of resource the ARN names.
func (s *Service) tagsError(ctx context.Context, arn string, err error) error {
	var ae *awsapi.Error
	if errors.As(err, &ae) {
		return ae
	}
	if !errors.Is(err, catalog.ErrNotFound) {
		return internal("tags", err)
	}
	ref, ok := s.in(ctx).ParseResourceARN(arn)
	switch {
	case !ok:
		return errResourceNotFound(arn)
	case ref.Kind == catalog.KindBus:
		return errBusNotFound(ref.Name)
	case ref.Kind == catalog.KindRule:
		return errRuleNotFound(ref.Name, ref.Bus)
	case ref.Kind == catalog.KindConnection:
		return errConnectionNotFound("describe", arn)
	default:
		return errDestinationNotFound("describe", arn)
	}
}
